package dev.cai.runtime.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.weights.HostTensor;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real embedded SmolLM2-135M-Instruct Q4_1 GGUF against transformers (fixtures from tools/parity_reference.py
 * and tools/tokenizer_reference.py). Needs the model: {@code ./cai model fetch}.
 */
class GgufSmolLm2IT {
  private static GgufModel model;
  private static long loadMillis;

  @BeforeAll
  static void load() {
    long t0 = System.nanoTime();
    model = GgufLoader.load(GgufTestFiles.smolLm2());
    loadMillis = (System.nanoTime() - t0) / 1_000_000;
    System.out.println("Loaded " + model.modelId() + " in " + loadMillis + " ms");
  }

  @AfterAll
  static void close() {
    if (model != null) {
      model.close();
    }
  }

  private static JsonObject fixture(String name) throws Exception {
    try (InputStream in = GgufSmolLm2IT.class.getResourceAsStream("/fixtures/" + name)) {
      return JsonParser.parseReader(new InputStreamReader(in, StandardCharsets.UTF_8)).getAsJsonObject();
    }
  }

  private static int[] ints(JsonArray a) {
    int[] out = new int[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i).getAsInt();
    }
    return out;
  }

  @Test
  void shouldLoadWithinSeconds() {
    assertTrue(loadMillis < 20_000, "load took " + loadMillis + " ms");
    assertEquals(2 + 30 * 9, model.weights().tensors().size());
  }

  @Test
  void shouldReadSmolLm2Config() {
    LlamaConfig c = model.weights().config();
    assertEquals(new LlamaConfig(49152, 576, 1536, 30, 9, 3, 64, 100000.0, 1e-5, 8192, true, 1, 2, -1), c);
  }

  @Test
  void shouldMatchTransformersWeightsIncludingUnpermutedQueryAndKey() throws Exception {
    for (JsonElement e : fixture("parity-smollm2.json").getAsJsonArray("weight_probes")) {
      JsonObject p = e.getAsJsonObject();
      HostTensor t = model.weights().require(p.get("tensor").getAsString());
      JsonArray shape = p.getAsJsonArray("shape");
      assertEquals(shape.size(), t.shape().length);
      for (int i = 0; i < shape.size(); i++) {
        assertEquals(shape.get(i).getAsLong(), t.shape()[i], t.name());
      }
      if (p.has("rows")) {
        int[] rows = ints(p.getAsJsonArray("rows"));
        int[] cols = ints(p.getAsJsonArray("cols"));
        int width = (int) t.shape()[1];
        for (int r = 0; r < rows.length; r++) {
          for (int c = 0; c < cols.length; c++) {
            float expected = p.getAsJsonArray("values").get(r).getAsJsonArray().get(c).getAsFloat();
            assertEquals(expected, t.data()[rows[r] * width + cols[c]], t.name() + "[" + rows[r] + "," + cols[c] + "]");
          }
        }
      } else {
        int[] index = ints(p.getAsJsonArray("index"));
        for (int i = 0; i < index.length; i++) {
          assertEquals(p.getAsJsonArray("values").get(i).getAsFloat(), t.data()[index[i]], t.name());
        }
      }
    }
  }

  @Test
  void shouldTokenizeExactlyLikeTransformers() throws Exception {
    JsonObject f = fixture("tokenizer-smollm2.json");
    assertEquals(f.get("vocab_size").getAsInt(), model.tokenizer().vocabSize());
    assertEquals(f.get("eos_token_id").getAsInt(), model.tokenizer().eosTokenId());
    assertEquals(f.get("bos_token_id").getAsInt(), model.tokenizer().bosTokenId());
    int cases = 0;
    for (JsonElement e : f.getAsJsonArray("cases")) {
      JsonObject c = e.getAsJsonObject();
      String text = c.get("text").getAsString();
      int[] ids = model.tokenizer().encode(text);
      assertArrayEquals(ints(c.getAsJsonArray("ids")), ids, "ids of " + text);
      assertEquals(c.get("decoded").getAsString(), model.tokenizer().decode(ids, false), "decode of " + text);
      assertEquals(c.get("decoded_skip_special").getAsString(), model.tokenizer().decode(ids, true),
          "decode (skip special) of " + text);
      cases++;
    }
    assertTrue(cases >= 10);
    assertEquals(2, model.tokenizer().tokenId("<|im_end|>"));
  }

  @Test
  void shouldRenderAndEncodeParityPromptsLikeTransformersChatTemplate() throws Exception {
    for (JsonElement e : fixture("parity-smollm2.json").getAsJsonArray("cases")) {
      JsonObject c = e.getAsJsonObject();
      String prompt = model.chatTemplate().render(List.of(ChatMessage.user(c.get("user").getAsString())), true);
      assertEquals(c.get("prompt").getAsString(), prompt);
      assertArrayEquals(ints(c.getAsJsonArray("input_ids")), model.tokenizer().encode(prompt));
    }
  }
}
