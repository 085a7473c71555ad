package dev.cai.runtime.gguf;

/**
 * Block dequantization of ggml tensor data into float32, value for value as llama.cpp's
 * {@code dequantize_row_*} in <a href="https://github.com/ggml-org/ggml/blob/master/src/ggml-quants.c">ggml-quants.c</a>
 * (all arithmetic in float32, in the same order).
 */
public final class Dequantize {
  private Dequantize() {}

  /**
   * Dequantizes {@code numel} values of {@code type} starting at {@code data[offset]} (little-endian blocks).
   *
   * @throws IllegalArgumentException when the type is not supported or the bytes are too few
   */
  public static float[] toFloats(GgmlType type, byte[] data, int offset, int numel) {
    if (!type.dequantizable) {
      throw new IllegalArgumentException("Unsupported ggml type " + type + " (id " + type.id + ")");
    }
    long need = type.bytesFor(numel);
    if (offset < 0 || offset + need > data.length) {
      throw new IllegalArgumentException(type + " data for " + numel + " values needs " + need + " bytes, only "
          + (data.length - offset) + " available");
    }
    float[] y = new float[numel];
    int blocks = numel / type.blockSize;
    switch (type) {
      case F32 -> {
        for (int i = 0; i < numel; i++) {
          y[i] = Float.intBitsToFloat(i32(data, offset + 4 * i));
        }
      }
      case F16 -> {
        for (int i = 0; i < numel; i++) {
          y[i] = Half.toFloat(u16(data, offset + 2 * i));
        }
      }
      case BF16 -> {
        for (int i = 0; i < numel; i++) {
          y[i] = Half.bf16ToFloat(u16(data, offset + 2 * i));
        }
      }
      case Q4_0 -> forBlocks(blocks, b -> q4_0(data, offset + b * 18, y, b * 32));
      case Q4_1 -> forBlocks(blocks, b -> q4_1(data, offset + b * 20, y, b * 32));
      case Q5_0 -> forBlocks(blocks, b -> q5_0(data, offset + b * 22, y, b * 32));
      case Q5_1 -> forBlocks(blocks, b -> q5_1(data, offset + b * 24, y, b * 32));
      case Q8_0 -> forBlocks(blocks, b -> q8_0(data, offset + b * 34, y, b * 32));
      case Q4_K -> forBlocks(blocks, b -> q4_k(data, offset + b * 144, y, b * 256));
      case Q5_K -> forBlocks(blocks, b -> q5_k(data, offset + b * 176, y, b * 256));
      case Q6_K -> forBlocks(blocks, b -> q6_k(data, offset + b * 210, y, b * 256));
      default -> throw new IllegalArgumentException("Unsupported ggml type " + type);
    }
    return y;
  }

  private interface BlockFn {
    void apply(int block);
  }

  private static void forBlocks(int blocks, BlockFn fn) {
    for (int b = 0; b < blocks; b++) {
      fn.apply(b);
    }
  }

  /** Q4_0: f16 d, 16 bytes of nibbles; low nibbles are values 0-15, high nibbles 16-31; x = (q - 8)·d. */
  static void q4_0(byte[] src, int p, float[] y, int o) {
    float d = Half.toFloat(u16(src, p));
    for (int j = 0; j < 16; j++) {
      int q = src[p + 2 + j] & 0xFF;
      y[o + j] = ((q & 0x0F) - 8) * d;
      y[o + j + 16] = ((q >>> 4) - 8) * d;
    }
  }

  /** Q4_1: f16 d, f16 m, 16 bytes of nibbles; x = q·d + m. */
  static void q4_1(byte[] src, int p, float[] y, int o) {
    float d = Half.toFloat(u16(src, p));
    float m = Half.toFloat(u16(src, p + 2));
    for (int j = 0; j < 16; j++) {
      int q = src[p + 4 + j] & 0xFF;
      y[o + j] = (q & 0x0F) * d + m;
      y[o + j + 16] = (q >>> 4) * d + m;
    }
  }

  /** Q5_0: f16 d, 32 high bits, 16 bytes of nibbles; x = (q - 16)·d with q = nibble | high bit << 4. */
  static void q5_0(byte[] src, int p, float[] y, int o) {
    float d = Half.toFloat(u16(src, p));
    int qh = i32(src, p + 2);
    for (int j = 0; j < 16; j++) {
      int q = src[p + 6 + j] & 0xFF;
      int h0 = ((qh >>> j) << 4) & 0x10;
      int h1 = (qh >>> (j + 12)) & 0x10;
      y[o + j] = (((q & 0x0F) | h0) - 16) * d;
      y[o + j + 16] = (((q >>> 4) | h1) - 16) * d;
    }
  }

  /** Q5_1: f16 d, f16 m, 32 high bits, 16 bytes of nibbles; x = q·d + m. */
  static void q5_1(byte[] src, int p, float[] y, int o) {
    float d = Half.toFloat(u16(src, p));
    float m = Half.toFloat(u16(src, p + 2));
    int qh = i32(src, p + 4);
    for (int j = 0; j < 16; j++) {
      int q = src[p + 8 + j] & 0xFF;
      int h0 = ((qh >>> j) << 4) & 0x10;
      int h1 = (qh >>> (j + 12)) & 0x10;
      y[o + j] = ((q & 0x0F) | h0) * d + m;
      y[o + j + 16] = ((q >>> 4) | h1) * d + m;
    }
  }

  /** Q8_0: f16 d, 32 signed bytes; x = q·d. */
  static void q8_0(byte[] src, int p, float[] y, int o) {
    float d = Half.toFloat(u16(src, p));
    for (int j = 0; j < 32; j++) {
      y[o + j] = src[p + 2 + j] * d;
    }
  }

  /** Q4_K: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins for 8 sub-blocks of 32, 128 bytes of nibbles. */
  static void q4_k(byte[] src, int p, float[] y, int o) {
    float d = Half.toFloat(u16(src, p));
    float dmin = Half.toFloat(u16(src, p + 2));
    int scales = p + 4;
    int qs = p + 16;
    int is = 0;
    for (int j = 0; j < 256; j += 64) {
      float d1 = d * scale6(src, scales, is);
      float m1 = dmin * min6(src, scales, is);
      float d2 = d * scale6(src, scales, is + 1);
      float m2 = dmin * min6(src, scales, is + 1);
      for (int l = 0; l < 32; l++) {
        y[o + j + l] = d1 * (src[qs + l] & 0x0F) - m1;
      }
      for (int l = 0; l < 32; l++) {
        y[o + j + 32 + l] = d2 * ((src[qs + l] & 0xFF) >>> 4) - m2;
      }
      qs += 32;
      is += 2;
    }
  }

  /** Q5_K: as Q4_K plus 32 bytes holding the fifth bit of each value. */
  static void q5_k(byte[] src, int p, float[] y, int o) {
    float d = Half.toFloat(u16(src, p));
    float dmin = Half.toFloat(u16(src, p + 2));
    int scales = p + 4;
    int qh = p + 16;
    int ql = p + 48;
    int is = 0;
    int u1 = 1;
    int u2 = 2;
    for (int j = 0; j < 256; j += 64) {
      float d1 = d * scale6(src, scales, is);
      float m1 = dmin * min6(src, scales, is);
      float d2 = d * scale6(src, scales, is + 1);
      float m2 = dmin * min6(src, scales, is + 1);
      for (int l = 0; l < 32; l++) {
        int h = (src[qh + l] & u1) != 0 ? 16 : 0;
        y[o + j + l] = d1 * ((src[ql + l] & 0x0F) + h) - m1;
      }
      for (int l = 0; l < 32; l++) {
        int h = (src[qh + l] & u2) != 0 ? 16 : 0;
        y[o + j + 32 + l] = d2 * (((src[ql + l] & 0xFF) >>> 4) + h) - m2;
      }
      ql += 32;
      is += 2;
      u1 <<= 2;
      u2 <<= 2;
    }
  }

  /** Q6_K: 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 signed scales, f16 d; x = d·scale·(q - 32). */
  static void q6_k(byte[] src, int p, float[] y, int o) {
    float d = Half.toFloat(u16(src, p + 208));
    int ql = p;
    int qh = p + 128;
    int sc = p + 192;
    for (int n = 0; n < 256; n += 128) {
      for (int l = 0; l < 32; l++) {
        int is = l / 16;
        int h = src[qh + l] & 0xFF;
        int lo = src[ql + l] & 0xFF;
        int hi = src[ql + l + 32] & 0xFF;
        int q1 = ((lo & 0x0F) | ((h & 3) << 4)) - 32;
        int q2 = ((hi & 0x0F) | (((h >>> 2) & 3) << 4)) - 32;
        int q3 = ((lo >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
        int q4 = ((hi >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
        y[o + n + l] = d * src[sc + is] * q1;
        y[o + n + l + 32] = d * src[sc + is + 2] * q2;
        y[o + n + l + 64] = d * src[sc + is + 4] * q3;
        y[o + n + l + 96] = d * src[sc + is + 6] * q4;
      }
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }

  /** 6-bit scale of sub-block {@code j} of a K-quant's packed 12-byte scales ({@code get_scale_min_k4}). */
  private static int scale6(byte[] s, int p, int j) {
    return j < 4 ? s[p + j] & 63 : (s[p + j + 4] & 0x0F) | (((s[p + j - 4] & 0xFF) >>> 6) << 4);
  }

  /** 6-bit min of sub-block {@code j}, packed alongside {@link #scale6}. */
  private static int min6(byte[] s, int p, int j) {
    return j < 4 ? s[p + j + 4] & 63 : ((s[p + j + 4] & 0xFF) >>> 4) | (((s[p + j] & 0xFF) >>> 6) << 4);
  }

  static int u16(byte[] b, int p) {
    return (b[p] & 0xFF) | ((b[p + 1] & 0xFF) << 8);
  }

  static int i32(byte[] b, int p) {
    return (b[p] & 0xFF) | ((b[p + 1] & 0xFF) << 8) | ((b[p + 2] & 0xFF) << 16) | ((b[p + 3] & 0xFF) << 24);
  }
}
