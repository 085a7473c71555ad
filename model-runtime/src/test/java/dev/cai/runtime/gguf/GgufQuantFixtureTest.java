package dev.cai.runtime.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Dequantize/Quantize against gguf-py on random blocks (fixture written by tools/gen_dequant_fixtures.py). */
class GgufQuantFixtureTest {

  private static JsonObject fixture() throws Exception {
    try (InputStream in = GgufQuantFixtureTest.class.getResourceAsStream("/fixtures/ggml-quants.json")) {
      return JsonParser.parseReader(new InputStreamReader(in, StandardCharsets.UTF_8)).getAsJsonObject();
    }
  }

  private static float[] floats(byte[] bytes) {
    float[] f = new float[bytes.length / 4];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
    return f;
  }

  @Test
  void shouldDequantizeExactlyLikeGgufPy() throws Exception {
    JsonObject deq = fixture().getAsJsonObject("dequantize");
    assertTrue(deq.size() >= 11);
    for (Map.Entry<String, com.google.gson.JsonElement> e : deq.entrySet()) {
      JsonObject c = e.getValue().getAsJsonObject();
      byte[] blocks = Base64.getDecoder().decode(c.get("blocks").getAsString());
      float[] expected = floats(Base64.getDecoder().decode(c.get("expected_f32").getAsString()));
      float[] actual = Dequantize.toFloats(GgmlType.valueOf(e.getKey()), blocks, 0, c.get("numel").getAsInt());
      assertEquals(expected.length, actual.length, e.getKey());
      for (int i = 0; i < expected.length; i++) {
        // both compute in float32 in ggml's operation order: bit-exact
        assertEquals(expected[i], actual[i], e.getKey() + " value " + i);
      }
    }
  }

  @Test
  void shouldQuantizeLikeGgufPy() throws Exception {
    JsonObject q = fixture().getAsJsonObject("quantize");
    for (Map.Entry<String, com.google.gson.JsonElement> e : q.entrySet()) {
      JsonObject c = e.getValue().getAsJsonObject();
      float[] input = floats(Base64.getDecoder().decode(c.get("input_f32").getAsString()));
      byte[] expected = Base64.getDecoder().decode(c.get("expected").getAsString());
      assertArrayEquals(expected, Quantize.fromFloats(GgmlType.valueOf(e.getKey()), input), e.getKey());
    }
  }
}
