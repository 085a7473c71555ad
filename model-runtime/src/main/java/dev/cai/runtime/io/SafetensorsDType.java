package dev.cai.runtime.io;

import java.util.Optional;

/**
 * Element types of the safetensors format (https://github.com/huggingface/safetensors) with their byte
 * sizes; the floating types can be widened to float32.
 */
public enum SafetensorsDType {
  F64(8, true),
  F32(4, true),
  F16(2, true),
  BF16(2, true),
  I64(8, false),
  I32(4, false),
  I16(2, false),
  I8(1, false),
  U64(8, false),
  U32(4, false),
  U16(2, false),
  U8(1, false),
  BOOL(1, false),
  F8_E4M3(1, false),
  F8_E5M2(1, false);

  private final int byteSize;
  private final boolean readableAsFloat;

  SafetensorsDType(int byteSize, boolean readableAsFloat) {
    this.byteSize = byteSize;
    this.readableAsFloat = readableAsFloat;
  }

  public int byteSize() {
    return byteSize;
  }

  /** Whether {@link SafetensorsFile#readFloat32} can convert this type (F64, F32, F16, BF16). */
  public boolean readableAsFloat() {
    return readableAsFloat;
  }

  /** The type named by a header's {@code dtype} string, if the format defines it. */
  public static Optional<SafetensorsDType> fromHeader(String name) {
    for (SafetensorsDType t : values()) {
      if (t.name().equals(name)) {
        return Optional.of(t);
      }
    }
    return Optional.empty();
  }
}
