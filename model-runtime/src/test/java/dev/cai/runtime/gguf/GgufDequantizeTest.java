package dev.cai.runtime.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Hand-built blocks with values worked out from the block layouts in ggml-quants.c. */
class GgufDequantizeTest {

  private static void f16(byte[] b, int p, float v) {
    short h = Half.fromFloat(v);
    b[p] = (byte) h;
    b[p + 1] = (byte) (h >> 8);
  }

  @Test
  void shouldDequantizeQ4_0AsNibbleMinusEightTimesScale() {
    byte[] b = new byte[18];
    f16(b, 0, 0.5f);
    for (int j = 0; j < 16; j++) {
      b[2 + j] = (byte) (j | ((15 - j) << 4)); // low nibble j, high nibble 15-j
    }
    float[] y = Dequantize.toFloats(GgmlType.Q4_0, b, 0, 32);
    for (int j = 0; j < 16; j++) {
      assertEquals((j - 8) * 0.5f, y[j]);
      assertEquals((15 - j - 8) * 0.5f, y[j + 16]);
    }
  }

  @Test
  void shouldDequantizeQ4_1AsNibbleTimesScalePlusMin() {
    byte[] b = new byte[20];
    f16(b, 0, 0.25f);
    f16(b, 2, -1.5f);
    for (int j = 0; j < 16; j++) {
      b[4 + j] = (byte) ((j % 16) | (3 << 4));
    }
    float[] y = Dequantize.toFloats(GgmlType.Q4_1, b, 0, 32);
    assertEquals(-1.5f, y[0]);
    assertEquals(15 * 0.25f - 1.5f, y[15]);
    assertEquals(3 * 0.25f - 1.5f, y[16]);
    assertEquals(3 * 0.25f - 1.5f, y[31]);
  }

  @Test
  void shouldDequantizeQ8_0AsSignedByteTimesScale() {
    byte[] b = new byte[34 * 2];
    f16(b, 0, 2f);
    f16(b, 34, -0.125f);
    for (int j = 0; j < 32; j++) {
      b[2 + j] = (byte) (j - 16);
      b[36 + j] = (byte) (127 - j);
    }
    float[] y = Dequantize.toFloats(GgmlType.Q8_0, b, 0, 64);
    assertEquals(-32f, y[0]);
    assertEquals(30f, y[31]);
    assertEquals(-0.125f * 127, y[32]);
    assertEquals(-0.125f * 96, y[63]);
  }

  @Test
  void shouldDequantizeQ4_KWithSixBitScalesAndMins() {
    byte[] b = new byte[144];
    f16(b, 0, 0.5f);   // d
    f16(b, 2, 0.25f);  // dmin
    // sub-block 0: scale 3, min 2 (bytes 0 and 4); sub-block 4: scale = (s[8]&15)|(s[0]>>6)<<4, min = (s[8]>>4)|(s[4]>>6)<<4
    b[4] = (byte) (3 | (1 << 6));     // scale0 = 3, contributes 16 to scale4
    b[4 + 4] = (byte) (2 | (2 << 6)); // min0 = 2, contributes 32 to min4
    b[4 + 8] = (byte) (5 | (1 << 4)); // scale4 low = 5, min4 low = 1
    for (int l = 0; l < 128; l++) {
      b[16 + l] = (byte) 0x97; // low nibble 7, high nibble 9
    }
    float[] y = Dequantize.toFloats(GgmlType.Q4_K, b, 0, 256);
    assertEquals(0.5f * 3 * 7 - 0.25f * 2, y[0]);          // sub-block 0, low nibbles
    assertEquals(0f * 9 - 0f, y[32]);                       // sub-block 1: scale 0, min 0
    assertEquals(0.5f * 21 * 7 - 0.25f * 33, y[128]);      // sub-block 4: scale 5+16, min 1+32
  }

  @Test
  void shouldDequantizeQ6_KWithSignedScales() {
    byte[] b = new byte[210];
    f16(b, 208, 0.5f);
    b[192] = (byte) -2; // scale of values 0..15
    b[192 + 2] = 3;     // scale of values 32..47
    b[0] = 0x21;        // ql[0]: low nibble 1 -> y[0], high nibble 2 -> y[64]
    b[128] = (byte) 0b11_10_01_00; // qh[0]: bits for y[0]=0, y[32]=1, y[64]=2, y[96]=3
    float[] y = Dequantize.toFloats(GgmlType.Q6_K, b, 0, 256);
    assertEquals(0.5f * -2 * (1 - 32), y[0]);
    assertEquals(0.5f * 3 * ((0 | (1 << 4)) - 32), y[32]);
    assertEquals(0f, y[64]); // scale sc[4] is 0
  }

  @Test
  void shouldConvertHalfAndBfloat16Exactly() {
    assertEquals(1.0f, Half.toFloat(0x3C00));
    assertEquals(-2.0f, Half.toFloat(0xC000));
    assertEquals(65504f, Half.toFloat(0x7BFF));
    assertEquals(0x1p-24f, Half.toFloat(0x0001));
    assertEquals(Float.POSITIVE_INFINITY, Half.toFloat(0x7C00));
    assertEquals((short) 0x3C00, Half.fromFloat(1.0f));
    assertEquals((short) 0x0001, Half.fromFloat(0x1p-24f));
    assertEquals((short) 0x7C00, Half.fromFloat(1e6f));
    for (int bits = 0; bits < 0x10000; bits++) {
      float f = Half.toFloat(bits);
      if (!Float.isNaN(f)) {
        assertEquals((short) bits, Half.fromFloat(f), "half 0x" + Integer.toHexString(bits));
      }
    }
    assertEquals(1.0f, Half.bf16ToFloat(0x3F80));
    assertEquals(-3.0f, Half.bf16ToFloat(0xC040));
  }

  @Test
  void shouldRejectUnsupportedTypeAndShortData() {
    assertThrows(IllegalArgumentException.class, () -> Dequantize.toFloats(GgmlType.Q2_K, new byte[84], 0, 256));
    assertThrows(IllegalArgumentException.class, () -> Dequantize.toFloats(GgmlType.Q4_1, new byte[19], 0, 32));
    assertThrows(IllegalArgumentException.class, () -> Dequantize.toFloats(GgmlType.Q4_1, new byte[40], 0, 33));
  }

  @Test
  void shouldRoundTripWriterQuantizersWithinHalfAStep() {
    float[] x = new float[64];
    java.util.Random rnd = new java.util.Random(7);
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) rnd.nextGaussian();
    }
    for (GgmlType t : new GgmlType[] {GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1}) {
      float[] y = Dequantize.toFloats(t, Quantize.fromFloats(t, x), 0, x.length);
      double maxErr = 0;
      for (int i = 0; i < x.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(x[i] - y[i]));
      }
      double bound = switch (t) {
        case F32 -> 0;
        case F16 -> 2e-3;
        case Q8_0 -> 0.02;
        default -> 0.35;
      };
      assertEquals(0, maxErr, bound, t + " max error " + maxErr);
    }
    assertArrayEquals(x, Dequantize.toFloats(GgmlType.F32, Quantize.fromFloats(GgmlType.F32, x), 0, 64));
  }
}
