package dev.cai.runtime.io;

/** Bit-level conversions from IEEE 754 binary16 and bfloat16 to float32 (exact: both widen losslessly). */
final class HalfFloats {
  private HalfFloats() {}

  /** bfloat16 is the upper half of a float32. */
  static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat((bits & 0xFFFF) << 16);
  }

  /** binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits; subnormals, infinities, NaN kept. */
  static float f16ToFloat(short bits) {
    int h = bits & 0xFFFF;
    int sign = (h >>> 15) << 31;
    int exp = (h >>> 10) & 0x1F;
    int mant = h & 0x3FF;
    if (exp == 0x1F) { // Inf / NaN
      return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
    }
    if (exp == 0) {
      if (mant == 0) {
        return Float.intBitsToFloat(sign); // ±0
      }
      // subnormal: mant · 2^-24, exact in float32
      float v = mant * 0x1p-24f;
      return sign == 0 ? v : -v;
    }
    // normal: rebias exponent 15 → 127
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }
}
