package dev.cai.runtime.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.tokenizer.ChatTemplate;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelWeights;
import dev.cai.runtime.weights.TensorNames;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufLoaderTest {
  @TempDir
  Path dir;

  @Test
  void shouldLoadTinyF32ModelExactlyAsWritten() throws Exception {
    Path file = dir.resolve("tiny.gguf");
    ModelWeights written = TinyLlama.write(file, 42, GgmlType.F32);
    try (GgufModel model = GgufLoader.load(file)) {
      assertEquals("tiny", model.modelId());
      assertEquals(written.tensors().keySet(), model.weights().tensors().keySet());
      for (HostTensor t : written.tensors().values()) {
        HostTensor loaded = model.weights().require(t.name());
        assertArrayEquals(t.shape(), loaded.shape(), t.name());
        assertArrayEquals(t.data(), loaded.data(), t.name());
      }
    }
  }

  @Test
  void shouldReadLlamaConfigFromMetadata() throws Exception {
    Path file = dir.resolve("tiny.gguf");
    TinyLlama.write(file, 1, GgmlType.F32);
    LlamaConfig c = GgufLoader.config(GgufFile.read(file));
    assertEquals(TinyLlama.config(), c);
    assertEquals(BpeVocabulary.tiny().size(), c.vocabSize());
    assertEquals(8, c.headDim());
    assertTrue(c.tieWordEmbeddings());
    assertEquals(1e-5, c.rmsNormEps(), 1e-12);
  }

  @Test
  void shouldStoreQueryAndKeyRowsInLlamaCppOrderAndUndoIt() throws Exception {
    Path file = dir.resolve("tiny.gguf");
    ModelWeights written = TinyLlama.write(file, 3, GgmlType.F32);
    GgufFile gguf = GgufFile.read(file);
    float[] stored = gguf.readFloats(gguf.requireTensor("blk.0.attn_k.weight"));
    float[] hf = written.require(TensorNames.kProj(0)).data();
    int cols = 32;
    int headDim = 8;
    // llama.cpp row 2i+p of a head holds HF row p*headDim/2+i: row 1 is HF row 4, row 2 is HF row 1
    for (int head = 0; head < 2; head++) {
      for (int c = 0; c < cols; c++) {
        int base = head * headDim;
        assertEquals(hf[(base) * cols + c], stored[(base) * cols + c]);
        assertEquals(hf[(base + 4) * cols + c], stored[(base + 1) * cols + c]);
        assertEquals(hf[(base + 1) * cols + c], stored[(base + 2) * cols + c]);
        assertEquals(hf[(base + 7) * cols + c], stored[(base + 7) * cols + c]);
      }
    }
  }

  @Test
  void shouldUnpermuteInterleavedRowsToRotateHalf() {
    // one head of dim 4, one column: llama.cpp order [r0, r2, r1, r3] -> HF [r0, r1, r2, r3]
    assertArrayEquals(new float[] {0, 1, 2, 3}, GgufLoader.unpermuteRope(new float[] {0, 2, 1, 3}, 1, 1));
    // two heads of dim 4, two columns
    float[] gguf = {0, 0.5f, 2, 2.5f, 1, 1.5f, 3, 3.5f, 4, 4.5f, 6, 6.5f, 5, 5.5f, 7, 7.5f};
    float[] hf = {0, 0.5f, 1, 1.5f, 2, 2.5f, 3, 3.5f, 4, 4.5f, 5, 5.5f, 6, 6.5f, 7, 7.5f};
    assertArrayEquals(hf, GgufLoader.unpermuteRope(gguf, 2, 2));
    assertArrayEquals(gguf, GgufLoader.permuteRope(hf, 2, 2));
  }

  @Test
  void shouldLoadQuantizedTinyModelsWithinQuantizationError() throws Exception {
    for (GgmlType type : new GgmlType[] {GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1}) {
      Path file = dir.resolve("tiny-" + type + ".gguf");
      ModelWeights written = TinyLlama.write(file, 5, type);
      GgufFile gguf = GgufFile.read(file);
      assertEquals(type, gguf.requireTensor("blk.1.ffn_down.weight").type());
      assertEquals(GgmlType.F32, gguf.requireTensor("blk.1.ffn_norm.weight").type());
      ModelWeights loaded = new ModelWeights(TinyLlama.config(), GgufLoader.weights(gguf, TinyLlama.config()), "x");
      double bound = type == GgmlType.F16 ? 1e-3 : type == GgmlType.Q8_0 ? 0.01 : 0.1;
      for (HostTensor t : written.tensors().values()) {
        float[] a = t.data();
        float[] b = loaded.require(t.name()).data();
        double maxErr = 0;
        for (int i = 0; i < a.length; i++) {
          maxErr = Math.max(maxErr, Math.abs(a[i] - b[i]));
        }
        assertTrue(maxErr <= bound, type + " " + t.name() + " max error " + maxErr);
      }
    }
  }

  @Test
  void shouldBuildTokenizerAndChatTemplateFromMetadata() throws Exception {
    Path file = dir.resolve("tiny.gguf");
    TinyLlama.write(file, 1, GgmlType.Q8_0);
    try (GgufModel model = GgufLoader.load(file)) {
      assertEquals(ChatTemplate.Format.CHATML, model.chatTemplate().format());
      assertFalse(model.chatTemplate().defaultSystemPrompt().isPresent());
      String prompt = model.chatTemplate().render(List.of(ChatMessage.user("the cat")), true);
      int[] ids = model.tokenizer().encode(prompt);
      assertEquals(1, ids[0]);
      assertEquals(prompt, model.tokenizer().decode(ids, false));
      assertEquals(BpeVocabulary.tiny().size(), model.tokenizer().vocabSize());
      assertEquals(2, model.tokenizer().eosTokenId());
      assertEquals(1, model.tokenizer().bosTokenId());
      assertEquals(0, model.tokenizer().padTokenId());
    }
  }

  @Test
  void shouldReadVersion2Files() throws Exception {
    Path file = dir.resolve("v2.gguf");
    ModelWeights written = TinyLlama.write(file, 11, GgmlType.F32);
    byte[] bytes = java.nio.file.Files.readAllBytes(file);
    bytes[4] = 2; // version field (little-endian uint32 after the magic); v2 and v3 share the layout
    java.nio.file.Files.write(file, bytes);
    GgufFile f = GgufFile.read(file);
    assertEquals(2, f.version());
    assertArrayEquals(written.require(TensorNames.qProj(1)).data(),
        GgufLoader.weights(f, TinyLlama.config()).get(TensorNames.qProj(1)).data());
  }

  @Test
  void shouldRoundTripTypedMetadataAndCustomAlignment() throws Exception {
    Path file = dir.resolve("meta.gguf");
    new GgufWriter(64)
        .putString("s", "héllo")
        .putU32("u32", 4_000_000_000L)
        .putI32("i32", -7)
        .putU64("u64", 1L << 40)
        .putF32("f32", 0.1f)
        .putF64("f64", 0.1)
        .putBool("b", true)
        .putStrings("strs", List.of("a", "", "ü"))
        .putI32s("ints", new int[] {3, -1})
        .addTensor("t", new long[] {2, 32}, new float[64], GgmlType.F32)
        .addTensor("u", new long[] {3}, new float[] {1, 2, 3}, GgmlType.F32)
        .write(file);
    GgufFile f = GgufFile.read(file);
    assertEquals(3, f.version());
    assertEquals(64, f.alignment());
    assertEquals(0, f.dataStart() % 64);
    assertEquals("héllo", f.string("s"));
    assertEquals(4_000_000_000L, f.integer("u32"));
    assertEquals(-7, f.integer("i32"));
    assertEquals(1L << 40, f.integer("u64"));
    assertEquals(0.1f, (float) f.number("f32"));
    assertEquals(0.1, f.number("f64"));
    assertTrue(f.bool("b", false));
    assertEquals(List.of("a", "", "ü"), f.strings("strs"));
    assertArrayEquals(new int[] {3, -1}, f.ints("ints"));
    GgufFile.TensorInfo t = f.requireTensor("t");
    assertArrayEquals(new long[] {32, 2}, t.ne());
    assertArrayEquals(new long[] {2, 32}, t.shape());
    assertEquals(0, f.requireTensor("u").offset() % 64);
    assertArrayEquals(new float[] {1, 2, 3}, f.readFloats(f.requireTensor("u")));
  }
}
