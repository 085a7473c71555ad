package dev.cai.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cai.runtime.generate.GeneratedSequence;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.generate.Generator;
import dev.cai.runtime.gguf.GgufLoader;
import dev.cai.runtime.weights.LoadedModel;
import dev.cai.runtime.gguf.GgufTestFiles;
import dev.cai.runtime.tokenizer.ChatMessage;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Parity of the DJL model with Hugging Face transformers on the embedded SmolLM2-135M-Instruct Q4_1 GGUF
 * (both dequantize to the same float32 weights): on three chat prompts, the input ids are equal, the
 * last-position logits agree within {@value #LOGIT_TOLERANCE} (absolute; logits are around ±30, so this
 * is ~1e-4 relative: float32 summation order), and 32 greedy tokens are identical. Reference numbers:
 * tools/parity_reference.py → fixtures/parity-smollm2.json. Needs {@code ./cai model fetch}.
 */
class LlamaParityIT {
  static final double LOGIT_TOLERANCE = 3e-3;
  private static LoadedModel loaded;
  private static LlamaModel model;
  private static JsonObject fixture;

  @BeforeAll
  static void load() throws Exception {
    loaded = GgufLoader.load(GgufTestFiles.smolLm2());
    model = LlamaModel.create(loaded.weights(), DeviceSetting.CPU);
    try (InputStream in = LlamaParityIT.class.getResourceAsStream("/fixtures/parity-smollm2.json")) {
      fixture = JsonParser.parseReader(new InputStreamReader(in, StandardCharsets.UTF_8)).getAsJsonObject();
    }
  }

  @AfterAll
  static void close() {
    if (model != null) {
      model.close();
    }
    if (loaded != null) {
      loaded.close();
    }
  }

  @Test
  void shouldMatchTransformersLogitsAndGreedyTokensOnThreePrompts() {
    JsonArray cases = fixture.getAsJsonArray("cases");
    assertEquals(3, cases.size());
    for (var c : cases) {
      JsonObject k = c.getAsJsonObject();
      String prompt = loaded.chatTemplate().render(List.of(ChatMessage.user(k.get("user").getAsString())), true);
      assertEquals(k.get("prompt").getAsString(), prompt, "chat template");
      int[] ids = loaded.tokenizer().encode(prompt);
      assertArrayEquals(ints(k.getAsJsonArray("input_ids")), ids, "input ids");

      float[] last = lastLogits(ids);
      JsonObject ref = k.getAsJsonObject("last_logits");
      int[] topIds = ints(ref.getAsJsonArray("top20_ids"));
      double[] topValues = doubles(ref.getAsJsonArray("top20_values"));
      for (int i = 0; i < topIds.length; i++) {
        assertEquals(topValues[i], last[topIds[i]], LOGIT_TOLERANCE, "logit of top-20 id " + topIds[i]);
      }
      int[] fixedIds = ints(ref.getAsJsonArray("fixed_ids"));
      double[] fixedValues = doubles(ref.getAsJsonArray("fixed_values"));
      for (int i = 0; i < fixedIds.length; i++) {
        assertEquals(fixedValues[i], last[fixedIds[i]], LOGIT_TOLERANCE, "logit of id " + fixedIds[i]);
      }
      double mean = 0;
      for (float v : last) {
        mean += v;
      }
      mean /= last.length;
      assertEquals(ref.get("mean").getAsDouble(), mean, 1e-3, "mean logit");

      GeneratedSequence greedy = new Generator(model)
          .generate(List.of(ids), GenerationSettings.greedy(fixture.get("max_new_tokens").getAsInt()))
          .sequences().get(0);
      assertArrayEquals(ints(k.getAsJsonArray("greedy_ids")), greedy.tokens(), "greedy tokens for: " + k.get("user"));
    }
  }

  private static float[] lastLogits(int[] ids) {
    try (NDManager m = model.manager().newSubManager()) {
      long[] longIds = new long[ids.length];
      long[] mask = new long[ids.length];
      for (int i = 0; i < ids.length; i++) {
        longIds[i] = ids[i];
        mask[i] = 1;
      }
      NDArray input = m.create(longIds, new Shape(1, ids.length));
      NDArray attention = m.create(mask, new Shape(1, ids.length));
      NDArray logits = model.forward(input, attention).logits(); // [1, T, V]
      return logits.get(0).get(ids.length - 1).toFloatArray();
    }
  }

  private static int[] ints(JsonArray a) {
    int[] out = new int[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i).getAsInt();
    }
    return out;
  }

  private static double[] doubles(JsonArray a) {
    double[] out = new double[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i).getAsDouble();
    }
    return out;
  }
}
