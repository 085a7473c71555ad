package dev.cai.runtime.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelLoadException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {
  @TempDir Path dir;

  @Test
  void shouldRoundTripTensorsAndMetadataBitForBit() throws IOException {
    HostTensor a = new HostTensor("b.weight", new long[] {2, 3},
        new float[] {0.1f, -0f, Float.MIN_VALUE, Float.MAX_VALUE, Float.NaN, Float.NEGATIVE_INFINITY});
    HostTensor b = new HostTensor("a.bias", new long[] {}, new float[] {42.5f});
    HostTensor c = new HostTensor("c.empty", new long[] {0, 4}, new float[0]);
    float[] big = new float[700_000]; // spans several write/read chunks
    for (int i = 0; i < big.length; i++) {
      big[i] = (float) Math.sin(i * 0.001) * i;
    }
    HostTensor d = new HostTensor("d.big", new long[] {700, 1000}, big);
    Path file = dir.resolve("rt.safetensors");
    SafetensorsWriter.write(file, List.of(a, b, c, d), Map.of("step", "17", "format", "pt"));

    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      assertEquals(Map.of("step", "17", "format", "pt"), f.metadata());
      assertEquals(List.of("a.bias", "b.weight", "c.empty", "d.big"), List.copyOf(f.tensors().keySet()));
      for (HostTensor t : List.of(a, b, c, d)) {
        HostTensor r = f.readFloat32(t.name());
        assertArrayEquals(t.shape(), r.shape(), t.name());
        assertArrayEquals(bits(t.data()), bits(r.data()), t.name());
      }
    }
    assertEquals(0, (Files.size(file) - 8 - 4 * (6 + 1 + 700_000)) % 8, "header padded to 8 bytes");
  }

  @Test
  void shouldReadFileWrittenByPythonSafetensorsExactly() throws IOException {
    Path file = copyResource("torch_fixture.safetensors");
    JsonObject expected;
    try (InputStream in = getClass().getResourceAsStream("/io/torch_fixture.expected.json")) {
      expected = JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
    }
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      assertEquals(Map.of("format", "pt", "note", "cai fixture"), f.metadata());
      assertEquals(SafetensorsDType.BF16, f.info("bf16").dtype());
      assertEquals(SafetensorsDType.F16, f.info("f16").dtype());
      assertEquals(6, expected.size());
      for (Map.Entry<String, JsonElement> e : expected.entrySet()) {
        HostTensor t = f.readFloat32(e.getKey());
        JsonObject want = e.getValue().getAsJsonObject();
        assertArrayEquals(longs(want.getAsJsonArray("shape")), t.shape(), e.getKey());
        assertArrayEquals(ints(want.getAsJsonArray("bits")), bits(t.data()), e.getKey());
      }
      // Spot-check the conversions by value too (bf16(0.1) = 0.10009765625, f16 subnormal 6e-8 ≈ 5.96e-8).
      assertEquals(0.10009765625f, f.readFloat32("bf16").data()[0]);
      assertEquals(-65504f, f.readFloat32("f16").data()[1]);
      assertEquals(0x1p-24f, f.readFloat32("f16").data()[2]);
      ModelLoadException ex = assertThrows(ModelLoadException.class, () -> f.readFloat32("i64"));
      assertTrue(ex.getMessage().contains("tensor 'i64' has dtype I64"), ex.getMessage());
    }
  }

  @Test
  void shouldRejectTruncatedFileNamingTheTensor() throws IOException {
    Path file = dir.resolve("t.safetensors");
    SafetensorsWriter.write(file, List.of(new HostTensor("w", new long[] {4}, new float[] {1, 2, 3, 4})), Map.of());
    byte[] bytes = Files.readAllBytes(file);
    Files.write(file, Arrays.copyOf(bytes, bytes.length - 3));
    String msg = assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(file)).getMessage();
    assertTrue(msg.startsWith(file.toString()), msg);
    assertTrue(msg.contains("tensor 'w'") && msg.contains("run past the data section"), msg);
  }

  @Test
  void shouldRejectHeaderLengthPastEndOfFile() throws IOException {
    Path file = dir.resolve("h.safetensors");
    ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(1000);
    Files.write(file, b.array());
    String msg = assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(file)).getMessage();
    assertTrue(msg.contains("header length 1000 runs past the end of the file (20 bytes)"), msg);

    Files.write(dir.resolve("short"), new byte[] {1, 2, 3});
    msg = assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(dir.resolve("short"))).getMessage();
    assertTrue(msg.contains("too short"), msg);
  }

  @Test
  void shouldRejectOffsetsOutOfRangeOrInconsistentWithShape() throws IOException {
    assertHeaderRejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8,
        "tensor 'w': data_offsets [0, 16] run past the data section (8 bytes)");
    assertHeaderRejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
        "tensor 'w': shape [3] of F32 needs 3 × 4 bytes but data_offsets [0, 8] hold 8");
    assertHeaderRejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8,
        "end before they begin");
    assertHeaderRejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "tensors 'a' and 'b' overlap");
    assertHeaderRejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "negative");
  }

  @Test
  void shouldRejectUnknownDtypeAndBadJson() throws IOException {
    assertHeaderRejected("{\"w\":{\"dtype\":\"Q4_K\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
        "tensor 'w': unknown dtype 'Q4_K'");
    assertHeaderRejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],", 8, "header is not valid JSON");
    assertHeaderRejected("[1,2]", 8, "header is not a JSON object");
    assertHeaderRejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "tensor 'w': missing or non-array data_offsets");
  }

  private void assertHeaderRejected(String header, int dataBytes, String expectedMessagePart) throws IOException {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h);
    Path file = dir.resolve("bad.safetensors");
    Files.write(file, b.array());
    String msg = assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(file)).getMessage();
    assertTrue(msg.startsWith(file.toString() + ": "), msg);
    assertTrue(msg.contains(expectedMessagePart), msg);
  }

  private Path copyResource(String name) throws IOException {
    Path file = dir.resolve(name);
    try (InputStream in = getClass().getResourceAsStream("/io/" + name)) {
      Files.copy(in, file);
    }
    return file;
  }

  private static int[] bits(float[] xs) {
    int[] out = new int[xs.length];
    for (int i = 0; i < xs.length; i++) {
      out[i] = Float.floatToRawIntBits(xs[i]);
    }
    return out;
  }

  private static long[] longs(JsonArray a) {
    long[] out = new long[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i).getAsLong();
    }
    return out;
  }

  private static int[] ints(JsonArray a) {
    int[] out = new int[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = (int) a.get(i).getAsLong();
    }
    return out;
  }
}
