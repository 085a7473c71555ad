package dev.cai.runtime.gguf;

/**
 * ggml's reference quantizers ({@code quantize_row_*_ref} in
 * <a href="https://github.com/ggml-org/ggml/blob/master/src/ggml-quants.c">ggml-quants.c</a>) for the types
 * {@link GgufWriter} can write: F32, F16, Q8_0, Q4_0, Q4_1.
 */
public final class Quantize {
  private Quantize() {}

  /** The little-endian ggml bytes of {@code x} as {@code type}. */
  public static byte[] fromFloats(GgmlType type, float[] x) {
    byte[] out = new byte[Math.toIntExact(type.bytesFor(x.length))];
    int blocks = x.length / type.blockSize;
    switch (type) {
      case F32 -> {
        for (int i = 0; i < x.length; i++) {
          putU32(out, 4 * i, Float.floatToRawIntBits(x[i]));
        }
      }
      case F16 -> {
        for (int i = 0; i < x.length; i++) {
          putU16(out, 2 * i, Half.fromFloat(x[i]));
        }
      }
      case Q8_0 -> {
        for (int b = 0; b < blocks; b++) {
          q8_0(x, b * 32, out, b * 34);
        }
      }
      case Q4_0 -> {
        for (int b = 0; b < blocks; b++) {
          q4_0(x, b * 32, out, b * 18);
        }
      }
      case Q4_1 -> {
        for (int b = 0; b < blocks; b++) {
          q4_1(x, b * 32, out, b * 20);
        }
      }
      default -> throw new IllegalArgumentException("Cannot quantize to " + type
          + " (supported: F32, F16, Q8_0, Q4_0, Q4_1)");
    }
    return out;
  }

  /** d = max|x| / 127, q = round(x / d). */
  private static void q8_0(float[] x, int o, byte[] out, int p) {
    float amax = 0;
    for (int j = 0; j < 32; j++) {
      amax = Math.max(amax, Math.abs(x[o + j]));
    }
    float d = amax / 127;
    float id = d != 0 ? 1.0f / d : 0.0f;
    putU16(out, p, Half.fromFloat(d));
    for (int j = 0; j < 32; j++) {
      out[p + 2 + j] = (byte) roundHalfAway(x[o + j] * id);
    }
  }

  /** d = (value of largest magnitude) / -8, q = clamp(x / d + 8.5, 0..15). */
  private static void q4_0(float[] x, int o, byte[] out, int p) {
    float amax = 0;
    float max = 0;
    for (int j = 0; j < 32; j++) {
      float v = x[o + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    float d = max / -8;
    float id = d != 0 ? 1.0f / d : 0.0f;
    putU16(out, p, Half.fromFloat(d));
    for (int j = 0; j < 16; j++) {
      int q0 = Math.min(15, (int) (x[o + j] * id + 8.5f));
      int q1 = Math.min(15, (int) (x[o + j + 16] * id + 8.5f));
      out[p + 2 + j] = (byte) (q0 | (q1 << 4));
    }
  }

  /** d = (max - min) / 15, m = min, q = clamp((x - min) / d + 0.5, 0..15). */
  private static void q4_1(float[] x, int o, byte[] out, int p) {
    float min = Float.MAX_VALUE;
    float max = -Float.MAX_VALUE;
    for (int j = 0; j < 32; j++) {
      min = Math.min(min, x[o + j]);
      max = Math.max(max, x[o + j]);
    }
    float d = (max - min) / 15;
    float id = d != 0 ? 1.0f / d : 0.0f;
    putU16(out, p, Half.fromFloat(d));
    putU16(out, p + 2, Half.fromFloat(min));
    for (int j = 0; j < 16; j++) {
      int q0 = Math.min(15, (int) ((x[o + j] - min) * id + 0.5f));
      int q1 = Math.min(15, (int) ((x[o + j + 16] - min) * id + 0.5f));
      out[p + 4 + j] = (byte) (q0 | (q1 << 4));
    }
  }

  /** C's roundf: halves round away from zero (Java's Math.round rounds them up). */
  static int roundHalfAway(float v) {
    int r = Math.round(Math.abs(v));
    return v < 0 ? -r : r;
  }

  private static void putU16(byte[] b, int p, int v) {
    b[p] = (byte) v;
    b[p + 1] = (byte) (v >>> 8);
  }

  private static void putU32(byte[] b, int p, int v) {
    for (int i = 0; i < 4; i++) {
      b[p + i] = (byte) (v >>> (8 * i));
    }
  }
}
