package dev.cai.runtime.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.model.RandomWeights;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelLoadException;
import dev.cai.runtime.weights.ModelWeights;
import dev.cai.runtime.weights.TensorNames;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HuggingFaceDirectoryTest {
  private static final List<String> FIXTURE = List.of("config.json", "model.safetensors.index.json",
      "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "tokenizer.json",
      "tokenizer_config.json", "expected.json");

  @TempDir Path dir;

  @Test
  void shouldLoadShardedBf16DirectoryAndMatchTransformersLogits() throws IOException {
    Path hf = copyFixture(dir.resolve("hf"));
    try (HuggingFaceDirectory.LoadedModel loaded = HuggingFaceDirectory.load(hf)) {
      LlamaConfig c = loaded.weights().config();
      assertEquals(new LlamaConfig(64, 32, 48, 2, 4, 2, 8, 500.0, 1e-5, 128, false, 0, 1, 2), c,
          "rope_theta from rope_parameters; pad from tokenizer_config.json (<pad> = 2)");
      assertEquals(2 + 2 * 9 + 1, loaded.weights().tensors().size());
      assertTrue(loaded.tokenizer().isPresent());
      assertEquals(2, loaded.tokenizer().get().padTokenId());
      assertEquals(List.of(5, 9), toList(loaded.tokenizer().get().encode("w5 w9")));

      JsonObject expected = JsonParser.parseString(Files.readString(hf.resolve("expected.json"))).getAsJsonObject();
      int[] ids = expected.getAsJsonArray("ids").asList().stream().mapToInt(e -> e.getAsInt()).toArray();
      float[] want = new float[expected.getAsJsonArray("logits").size()];
      for (int i = 0; i < want.length; i++) {
        want[i] = expected.getAsJsonArray("logits").get(i).getAsFloat();
      }
      try (LlamaModel model = LlamaModel.create(loaded.weights(), Device.cpu());
          NDManager m = model.manager().newSubManager()) {
        int[] ones = new int[ids.length];
        java.util.Arrays.fill(ones, 1);
        NDArray logits = model.forward(m.create(ids, new Shape(1, ids.length)), m.create(ones, new Shape(1, ids.length)))
            .logits();
        float[] got = logits.toFloatArray();
        assertEquals(want.length, got.length);
        double maxDiff = 0;
        for (int i = 0; i < want.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(want[i] - got[i]));
        }
        assertTrue(maxDiff < 1e-4, "max |logit - transformers logit| = " + maxDiff);
      }
    }
  }

  @Test
  void shouldFallBackToEosForPaddingWhenNeitherConfigNorTokenizerNamesOne() throws IOException {
    Path hf = copyFixture(dir.resolve("hf"));
    Files.delete(hf.resolve("tokenizer.json"));
    try (HuggingFaceDirectory.LoadedModel loaded = HuggingFaceDirectory.load(hf)) {
      assertFalse(loaded.tokenizer().isPresent());
      assertEquals(1, loaded.weights().config().padTokenId());
    }
  }

  @Test
  void shouldLoadSingleFileTiedModelAndDropRedundantLmHead() throws IOException {
    LlamaConfig c = new LlamaConfig(32, 16, 24, 1, 2, 1, 8, 10_000.0, 1e-6, 64, true, 0, 1, 2);
    ModelWeights w = RandomWeights.create(c, 7, 0.1);
    Path d = Files.createDirectory(dir.resolve("single"));
    HfConfigJson.write(d.resolve("config.json"), c);
    List<HostTensor> tensors = new ArrayList<>(w.tensors().values());
    HostTensor embed = w.require(TensorNames.EMBED_TOKENS);
    tensors.add(new HostTensor(TensorNames.LM_HEAD, embed.shape(), embed.data()));
    tensors.add(new HostTensor("model.layers.0.self_attn.rotary_emb.inv_freq", new long[] {4}, new float[4]));
    SafetensorsWriter.write(d.resolve("model.safetensors"), tensors, Map.of());
    ModelWeights loaded = HuggingFaceDirectory.loadWeights(d);
    assertEquals(c, loaded.config());
    assertEquals(w.tensors().keySet(), loaded.tensors().keySet());
    assertEquals(embed.data()[5], loaded.require(TensorNames.EMBED_TOKENS).data()[5]);
  }

  @Test
  void shouldNameTheFileAndTensorOfEveryProblem() throws IOException {
    LlamaConfig c = new LlamaConfig(32, 16, 24, 1, 2, 1, 8, 10_000.0, 1e-6, 64, false, 0, 1, 2);
    ModelWeights w = RandomWeights.create(c, 7, 0.1);
    Path d = Files.createDirectory(dir.resolve("bad"));
    HfConfigJson.write(d.resolve("config.json"), c);

    Map<String, HostTensor> wrongShape = new LinkedHashMap<>(w.tensors());
    wrongShape.put(TensorNames.qProj(0), new HostTensor(TensorNames.qProj(0), new long[] {8, 16}, new float[128]));
    SafetensorsWriter.write(d.resolve("model.safetensors"), wrongShape.values(), Map.of());
    assertMessage(d, "Tensor 'model.layers.0.self_attn.q_proj.weight' in " + d + " has shape [8, 16] but the config"
        + " expects [16, 16]");

    Map<String, HostTensor> missing = new LinkedHashMap<>(w.tensors());
    missing.remove(TensorNames.downProj(0));
    SafetensorsWriter.write(d.resolve("model.safetensors"), missing.values(), Map.of());
    assertMessage(d, "Missing tensor 'model.layers.0.mlp.down_proj.weight'");

    Map<String, HostTensor> extra = new LinkedHashMap<>(w.tensors());
    extra.put("model.layers.0.self_attn.q_proj.bias", new HostTensor("model.layers.0.self_attn.q_proj.bias",
        new long[] {16}, new float[16]));
    SafetensorsWriter.write(d.resolve("model.safetensors"), extra.values(), Map.of());
    assertMessage(d, "unexpected tensors for a Llama model with this config: [model.layers.0.self_attn.q_proj.bias]");

    Path hf = copyFixture(dir.resolve("hf"));
    Files.delete(hf.resolve("model-00002-of-00002.safetensors"));
    assertMessage(hf, "model.safetensors.index.json: lists shard model-00002-of-00002.safetensors, which does not exist");

    Files.writeString(hf.resolve("config.json"), "{\"model_type\": \"qwen2\", \"hidden_size\": 8}");
    assertMessage(hf, "config.json: model_type 'qwen2' is not supported (expected llama)");
    Files.delete(hf.resolve("config.json"));
    assertMessage(hf, hf + ": no config.json in model directory");
  }

  @Test
  void configShouldApplyTransformersDefaultsAndRoundTrip() {
    JsonObject o = JsonParser.parseString("{\"vocab_size\": 100, \"hidden_size\": 64, \"intermediate_size\": 128,"
        + "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"eos_token_id\": [7, 8], \"bos_token_id\": null}")
        .getAsJsonObject();
    LlamaConfig c = HfConfigJson.parse(o, OptionalInt.empty());
    assertEquals(new LlamaConfig(100, 64, 128, 2, 4, 4, 16, 10_000.0, 1e-6, 2048, false, -1, 7, 7), c);
    assertEquals(c, HfConfigJson.parse(HfConfigJson.toJson(c), OptionalInt.of(3)));
    assertEquals(3, HfConfigJson.parse(o, OptionalInt.of(3)).padTokenId());
    o.add("rope_scaling", JsonParser.parseString("{\"rope_type\": \"llama3\", \"factor\": 8.0}"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> HfConfigJson.parse(o, OptionalInt.empty()));
    assertTrue(e.getMessage().startsWith("rope_scaling"), e.getMessage());
  }

  private static void assertMessage(Path d, String part) {
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> HuggingFaceDirectory.loadWeights(d));
    assertTrue(e.getMessage().contains(part), e.getMessage());
  }

  private static List<Integer> toList(int[] a) {
    List<Integer> out = new ArrayList<>();
    for (int x : a) {
      out.add(x);
    }
    return out;
  }

  static Path copyFixture(Path target) throws IOException {
    Files.createDirectories(target);
    for (String name : FIXTURE) {
      try (InputStream in = HuggingFaceDirectoryTest.class.getResourceAsStream("/io/hf-tiny/" + name)) {
        Files.copy(in, target.resolve(name));
      }
    }
    return target;
  }
}
