package dev.cai.runtime.gguf;

/**
 * ggml tensor element types as numbered in a GGUF file, with their block geometry (values per block, bytes per
 * block); see <a href="https://github.com/ggml-org/ggml/blob/master/docs/gguf.md">the GGUF spec</a>.
 */
public enum GgmlType {
  F32(0, 1, 4, true),
  F16(1, 1, 2, true),
  Q4_0(2, 32, 18, true),
  Q4_1(3, 32, 20, true),
  Q5_0(6, 32, 22, true),
  Q5_1(7, 32, 24, true),
  Q8_0(8, 32, 34, true),
  Q8_1(9, 32, 36, false),
  Q2_K(10, 256, 84, false),
  Q3_K(11, 256, 110, false),
  Q4_K(12, 256, 144, true),
  Q5_K(13, 256, 176, true),
  Q6_K(14, 256, 210, true),
  Q8_K(15, 256, 292, false),
  IQ2_XXS(16, 256, 66, false),
  IQ2_XS(17, 256, 74, false),
  IQ3_XXS(18, 256, 98, false),
  IQ1_S(19, 256, 50, false),
  IQ4_NL(20, 32, 18, false),
  IQ3_S(21, 256, 110, false),
  IQ2_S(22, 256, 82, false),
  IQ4_XS(23, 256, 136, false),
  I8(24, 1, 1, false),
  I16(25, 1, 2, false),
  I32(26, 1, 4, false),
  I64(27, 1, 8, false),
  F64(28, 1, 8, false),
  IQ1_M(29, 256, 56, false),
  BF16(30, 1, 2, true);

  /** Id in the GGUF tensor info. */
  public final int id;
  /** Values per block. */
  public final int blockSize;
  /** Bytes per block. */
  public final int typeSize;
  /** Whether {@link Dequantize} can turn it into floats. */
  public final boolean dequantizable;

  GgmlType(int id, int blockSize, int typeSize, boolean dequantizable) {
    this.id = id;
    this.blockSize = blockSize;
    this.typeSize = typeSize;
    this.dequantizable = dequantizable;
  }

  /** The type with GGUF id {@code id}, or null when the id is unknown. */
  public static GgmlType byId(int id) {
    for (GgmlType t : values()) {
      if (t.id == id) {
        return t;
      }
    }
    return null;
  }

  /** Bytes taken by {@code numel} values; {@code numel} must be a multiple of the block size. */
  public long bytesFor(long numel) {
    if (numel % blockSize != 0) {
      throw new IllegalArgumentException(name() + " needs a multiple of " + blockSize + " values, got " + numel);
    }
    return numel / blockSize * typeSize;
  }
}
