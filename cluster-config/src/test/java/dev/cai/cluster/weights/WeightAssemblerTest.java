package dev.cai.cluster.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.cai.protocol.v1.DType;
import dev.cai.protocol.v1.PolicyVersionManifest;
import dev.cai.protocol.v1.PolicyWeightsChunk;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.model.RandomWeights;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelWeights;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Cutting a policy version into chunks and putting it back together, and every way a chunk can be wrong. */
class WeightAssemblerTest {
  /** vocab 64, hidden 32, 2 layers: 22 KB of float32, many chunks of 1 KiB. */
  static final LlamaConfig CONFIG = new LlamaConfig(64, 32, 48, 2, 4, 2, 8, 10_000.0, 1e-5, 128, true, 0, 1, 2);
  static final int CHUNK = 1024;
  static final String EMBED = "model.embed_tokens.weight";

  static ModelWeights weights(long seed) {
    return RandomWeights.create(CONFIG, seed, 0.2);
  }

  static List<PolicyWeightsChunk> chunks(ChunkedVersion v) {
    List<PolicyWeightsChunk> out = new ArrayList<>();
    for (int i = 0; i < v.chunkCount(); i++) {
      out.add(v.chunk(i));
    }
    return out;
  }

  static void assertBitEqual(ModelWeights expected, ModelWeights actual) {
    assertEquals(expected.config(), actual.config());
    assertEquals(expected.tensors().keySet(), actual.tensors().keySet());
    for (Map.Entry<String, HostTensor> e : expected.tensors().entrySet()) {
      HostTensor a = actual.tensors().get(e.getKey());
      assertArrayEquals(e.getValue().shape(), a.shape(), e.getKey());
      int[] want = new int[e.getValue().data().length];
      int[] got = new int[a.data().length];
      for (int i = 0; i < want.length; i++) {
        want[i] = Float.floatToRawIntBits(e.getValue().data()[i]);
        got[i] = Float.floatToRawIntBits(a.data()[i]);
      }
      assertArrayEquals(want, got, e.getKey());
    }
  }

  /** The assembler's error for the chunks of {@code v} with chunk {@code seq} replaced by {@code tamper}'s result. */
  static String rejection(ChunkedVersion v, int seq, UnaryOperator<PolicyWeightsChunk> tamper) {
    WeightAssembler a = new WeightAssembler(v.manifest(), "learner-node");
    List<PolicyWeightsChunk> all = chunks(v);
    all.set(seq, tamper.apply(all.get(seq)));
    WeightsRejectedException e = assertThrows(WeightsRejectedException.class, () -> all.forEach(a::accept));
    assertFalse(a.isComplete());
    return e.getMessage();
  }

  /** Seq of chunk {@code index} of {@code tensor}. */
  static int seqOf(ChunkedVersion v, String tensor, int index) {
    for (int i = 0; i < v.chunkCount(); i++) {
      if (v.chunk(i).getTensorName().equals(tensor) && v.chunk(i).getChunkIndex() == index) {
        return i;
      }
    }
    throw new AssertionError("no chunk " + index + " of " + tensor);
  }

  @Test
  void shouldShipAVersionInChunksOfAtMostTheChunkSizeAndAssembleItBitEqual() {
    ModelWeights w = weights(7);
    ChunkedVersion v = ChunkedVersion.split(3, w, CHUNK);
    PolicyVersionManifest m = v.manifest();
    long total = w.tensors().values().stream().mapToLong(t -> t.numel() * 4).sum();
    assertEquals(total, m.getTotalBytes());
    assertEquals(3, m.getVersion());
    assertEquals(w.tensors().size(), m.getTensorsCount());
    assertEquals(WeightManifests.fingerprint(CONFIG), m.getConfigFingerprint());
    assertTrue(v.chunkCount() > 20, "many chunks: " + v.chunkCount());
    // the embedding: 64 × 32 floats = 8 KiB = 8 chunks of 1 KiB
    int embedFirst = seqOf(v, EMBED, 0);
    assertEquals(8, v.chunk(embedFirst).getChunkCount());
    long sum = 0;
    for (PolicyWeightsChunk c : chunks(v)) {
      assertTrue(c.getData().size() <= CHUNK);
      assertEquals(3, c.getVersion());
      assertEquals(DType.FLOAT32, c.getDtype());
      sum += c.getData().size();
    }
    assertEquals(total, sum);

    WeightAssembler a = new WeightAssembler(m, "learner-node");
    chunks(v).forEach(a::accept);
    assertTrue(a.isComplete());
    assertBitEqual(w, a.weights());
  }

  @Test
  void shouldAssembleChunksThatArriveInAnyOrder() {
    ModelWeights w = weights(8);
    ChunkedVersion v = ChunkedVersion.split(1, w, CHUNK);
    List<PolicyWeightsChunk> shuffled = chunks(v);
    Collections.shuffle(shuffled, new Random(1));
    WeightAssembler a = new WeightAssembler(v.manifest(), "learner-node");
    for (int i = 0; i < shuffled.size(); i++) {
      assertFalse(a.isComplete());
      a.accept(shuffled.get(i));
    }
    assertTrue(a.isComplete());
    assertBitEqual(w, a.weights());
  }

  @Test
  void shouldKeepRawFloatBitsIncludingNaNsAndNegativeZero() {
    float[] odd = {Float.intBitsToFloat(0x7fc00001), -0.0f, Float.MIN_VALUE, Float.NEGATIVE_INFINITY, 1.5f};
    ModelWeights w = weights(9);
    Map<String, HostTensor> tensors = new java.util.HashMap<>(w.tensors());
    tensors.put("extra.odd", new HostTensor("extra.odd", new long[] {5}, odd));
    tensors.put("extra.empty", new HostTensor("extra.empty", new long[] {0, 4}, new float[0]));
    ModelWeights with = new ModelWeights(CONFIG, tensors, "odd");
    ChunkedVersion v = ChunkedVersion.split(2, with, 12); // 3 floats a chunk: the odd tensor ends in a short chunk
    WeightAssembler a = new WeightAssembler(v.manifest(), "learner-node");
    chunks(v).forEach(a::accept);
    assertBitEqual(with, a.weights());
    assertEquals(1, v.chunk(seqOf(v, "extra.empty", 0)).getChunkCount());
  }

  @Test
  void shouldRejectAChunkWhoseDataWasCorruptedNamingTheTensorAndTheShaMismatch() {
    ChunkedVersion v = ChunkedVersion.split(2, weights(1), CHUNK);
    String e = rejection(v, seqOf(v, EMBED, 3), c -> {
      byte[] data = c.getData().toByteArray();
      data[17] ^= 1;
      return c.toBuilder().setData(ByteString.copyFrom(data)).build();
    });
    assertTrue(e.startsWith("policy version 2 from learner-node: tensor '" + EMBED + "': sha256 mismatch: the manifest"
        + " says " + v.manifest().getTensorsList().stream().filter(t -> t.getName().equals(EMBED)).findFirst()
        .orElseThrow().getSha256() + " but the 8 chunks received hash to "), e);
  }

  @Test
  void shouldRejectEveryKindOfWrongChunkWithTheTensorAndProblem() {
    ChunkedVersion v = ChunkedVersion.split(2, weights(1), CHUNK);
    int seq = seqOf(v, EMBED, 3);
    String p = "policy version 2 from learner-node: ";
    assertEquals(p + "unknown tensor 'model.nope' (not in the manifest)",
        rejection(v, seq, c -> c.toBuilder().setTensorName("model.nope").build()));
    assertEquals(p + "tensor '" + EMBED + "': chunk 3 has shape [32, 64] but the manifest says [64, 32]",
        rejection(v, seq, c -> c.toBuilder().clearShape().addShape(32).addShape(64).build()));
    assertEquals(p + "tensor '" + EMBED + "': chunk 3 has dtype FLOAT16 but the manifest says FLOAT32",
        rejection(v, seq, c -> c.toBuilder().setDtype(DType.FLOAT16).build()));
    assertEquals(p + "tensor '" + EMBED + "': chunk index 8 is out of range 0..7",
        rejection(v, seq, c -> c.toBuilder().setChunkIndex(8).build()));
    assertEquals(p + "tensor '" + EMBED + "': chunk 3 says the tensor has 9 chunks but the manifest says 8",
        rejection(v, seq, c -> c.toBuilder().setChunkCount(9).build()));
    assertEquals(p + "tensor '" + EMBED + "': chunk 2 of 8 arrived twice",
        rejection(v, seq, c -> c.toBuilder().setChunkIndex(2).build()));
    assertEquals(p + "tensor '" + EMBED + "': chunk 3 of 8 has 1020 bytes, expected 1024",
        rejection(v, seq, c -> c.toBuilder().setData(c.getData().substring(4)).build()));
    assertEquals(p + "tensor '" + EMBED + "' chunk 3 is of older policy version 1",
        rejection(v, seq, c -> c.toBuilder().setVersion(1).build()));
    assertTrue(rejection(v, seq, c -> c.toBuilder().setTensorSha256("00".repeat(32)).build())
        .startsWith(p + "tensor '" + EMBED + "': chunk 3 carries sha256 " + "00".repeat(32) + " but the manifest says "));
  }

  @Test
  void shouldRefuseChunksAfterARejection() {
    ChunkedVersion v = ChunkedVersion.split(2, weights(1), CHUNK);
    WeightAssembler a = new WeightAssembler(v.manifest(), "learner-node");
    assertThrows(WeightsRejectedException.class, () -> a.accept(v.chunk(0).toBuilder().setVersion(5).build()));
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.accept(v.chunk(0)));
    assertTrue(e.getMessage().contains("already rejected"), e.getMessage());
    assertThrows(IllegalStateException.class, a::weights);
  }

  @Test
  void shouldRejectAManifestThatContradictsItself() {
    PolicyVersionManifest m = ChunkedVersion.split(4, weights(1), CHUNK).manifest();
    String p = "policy version 4 from learner-node: ";
    assertEquals(p + "the manifest's config fingerprint abc does not match its config ("
        + m.getConfigFingerprint() + ")", manifestError(m.toBuilder().setConfigFingerprint("abc").build()));
    assertEquals(p + "the manifest says 1 bytes in " + m.getChunkCount() + " chunks but its tensors add up to "
        + m.getTotalBytes() + " bytes in " + m.getChunkCount() + " chunks",
        manifestError(m.toBuilder().setTotalBytes(1).build()));
    assertEquals(p + "tensor '" + EMBED + "': size 4 bytes does not match shape [64, 32]",
        manifestError(m.toBuilder().setTensors(indexOf(m, EMBED), m.getTensors(indexOf(m, EMBED)).toBuilder()
            .setBytes(4)).build()));
    assertEquals(p + "tensor '" + EMBED + "': chunk count 3 should be 8 for 8192 bytes in chunks of 1024",
        manifestError(m.toBuilder().setTensors(indexOf(m, EMBED), m.getTensors(indexOf(m, EMBED)).toBuilder()
            .setChunkCount(3)).build()));
    assertEquals(p + "tensor '" + EMBED + "': listed twice",
        manifestError(m.toBuilder().addTensors(m.getTensors(indexOf(m, EMBED))).build()));
    assertEquals(p + "chunk bytes 6 is not a positive multiple of 4", manifestError(m.toBuilder().setChunkBytes(6).build()));
    assertTrue(manifestError(m.toBuilder().setConfig(m.getConfig().toBuilder().setNumKvHeads(3)).build())
        .startsWith(p + "the manifest's model config is invalid: Invalid Llama config: numKvHeads must divide"));
  }

  private static int indexOf(PolicyVersionManifest m, String name) {
    for (int i = 0; i < m.getTensorsCount(); i++) {
      if (m.getTensors(i).getName().equals(name)) {
        return i;
      }
    }
    throw new AssertionError(name);
  }

  private static String manifestError(PolicyVersionManifest m) {
    return assertThrows(WeightsRejectedException.class, () -> new WeightAssembler(m, "learner-node")).getMessage();
  }

  @Test
  void shouldRefuseAChunkSizeThatIsNotAPositiveMultipleOfFour() {
    assertThrows(IllegalArgumentException.class, () -> ChunkedVersion.split(1, weights(1), 6));
    assertThrows(IllegalArgumentException.class, () -> ChunkedVersion.split(1, weights(1), 0));
    assertThrows(IllegalArgumentException.class, () -> ChunkedVersion.split(-1, weights(1), 8));
  }
}
