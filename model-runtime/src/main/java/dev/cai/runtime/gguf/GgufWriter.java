package dev.cai.runtime.gguf;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Writes GGUF version 3 files: typed metadata and tensors given as floats in PyTorch order, quantized to F32, F16,
 * Q8_0, Q4_0 or Q4_1 with ggml's reference quantizers (or given as raw blocks of any type id). Used to build small
 * models for tests; see the <a href="https://github.com/ggml-org/ggml/blob/master/docs/gguf.md">GGUF spec</a>.
 */
public final class GgufWriter {
  private record Entry(String key, int type, Object value) {}

  private record Tensor(String name, long[] ne, int typeId, byte[] data) {}

  private final List<Entry> metadata = new ArrayList<>();
  private final List<Tensor> tensors = new ArrayList<>();
  private final Set<String> names = new HashSet<>();
  private final int alignment;

  /** A writer with the default alignment of 32 bytes. */
  public GgufWriter() {
    this(GgufFile.DEFAULT_ALIGNMENT);
  }

  /** A writer aligning tensor data to {@code alignment} bytes (a power of two), recorded as general.alignment. */
  public GgufWriter(int alignment) {
    if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
      throw new IllegalArgumentException("alignment must be a power of two, got " + alignment);
    }
    this.alignment = alignment;
    if (alignment != GgufFile.DEFAULT_ALIGNMENT) {
      putU32("general.alignment", alignment);
    }
  }

  public GgufWriter putString(String key, String value) {
    return add(key, 8, value);
  }

  public GgufWriter putU32(String key, long value) {
    if (value < 0 || value > 0xFFFFFFFFL) {
      throw new IllegalArgumentException(key + ": " + value + " is not a uint32");
    }
    return add(key, 4, value);
  }

  public GgufWriter putI32(String key, int value) {
    return add(key, 5, (long) value);
  }

  public GgufWriter putU64(String key, long value) {
    return add(key, 10, value);
  }

  public GgufWriter putF32(String key, float value) {
    return add(key, 6, value);
  }

  public GgufWriter putF64(String key, double value) {
    return add(key, 12, value);
  }

  public GgufWriter putBool(String key, boolean value) {
    return add(key, 7, value);
  }

  public GgufWriter putStrings(String key, List<String> values) {
    return add(key, 9, new Object[] {8, List.copyOf(values)});
  }

  public GgufWriter putI32s(String key, int[] values) {
    List<Long> list = new ArrayList<>(values.length);
    for (int v : values) {
      list.add((long) v);
    }
    return add(key, 9, new Object[] {5, list});
  }

  private GgufWriter add(String key, int type, Object value) {
    metadata.removeIf(e -> e.key().equals(key));
    metadata.add(new Entry(key, type, value));
    return this;
  }

  /**
   * Adds a tensor given in PyTorch order ({@code shape} outermost first, row-major {@code data}), stored as
   * {@code type} (F32, F16, Q8_0, Q4_0 or Q4_1; quantized types need a last dimension divisible by 32).
   */
  public GgufWriter addTensor(String name, long[] shape, float[] data, GgmlType type) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    if (n != data.length) {
      throw new IllegalArgumentException("Tensor " + name + ": shape " + Arrays.toString(shape) + " holds " + n
          + " values, got " + data.length);
    }
    long[] ne = new long[shape.length];
    for (int i = 0; i < shape.length; i++) {
      ne[i] = shape[shape.length - 1 - i];
    }
    if (ne[0] % type.blockSize != 0) {
      throw new IllegalArgumentException("Tensor " + name + ": row length " + ne[0] + " is not a multiple of the "
          + type + " block size " + type.blockSize);
    }
    return addRawTensor(name, ne, type.id, Quantize.fromFloats(type, data));
  }

  /** Adds a tensor from raw ggml bytes with dimensions {@code ne} (innermost first) and any type id. */
  public GgufWriter addRawTensor(String name, long[] ne, int typeId, byte[] data) {
    if (!names.add(name)) {
      throw new IllegalArgumentException("Duplicate tensor " + name);
    }
    tensors.add(new Tensor(name, ne.clone(), typeId, data.clone()));
    return this;
  }

  /** Writes the file atomically (a temporary sibling, then a rename). */
  public void write(Path path) throws IOException {
    Path abs = path.toAbsolutePath();
    Path tmp = Files.createTempFile(abs.getParent(), abs.getFileName().toString(), ".tmp");
    try {
      try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
        writeTo(out);
      }
      Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private void writeTo(OutputStream raw) throws IOException {
    Le out = new Le(raw);
    out.u32(GgufFile.MAGIC);
    out.u32(3);
    out.u64(tensors.size());
    out.u64(metadata.size());
    for (Entry e : metadata) {
      out.string(e.key());
      out.u32(e.type());
      writeValue(out, e.type(), e.value());
    }
    long offset = 0;
    List<Long> offsets = new ArrayList<>();
    for (Tensor t : tensors) {
      out.string(t.name());
      out.u32(t.ne().length);
      for (long d : t.ne()) {
        out.u64(d);
      }
      out.u32(t.typeId());
      out.u64(offset);
      offsets.add(offset);
      offset = GgufFile.align(offset + t.data().length, alignment);
    }
    out.pad(GgufFile.align(out.written, alignment) - out.written);
    long dataStart = out.written;
    for (int i = 0; i < tensors.size(); i++) {
      out.pad(dataStart + offsets.get(i) - out.written);
      out.bytes(tensors.get(i).data());
    }
    out.pad(GgufFile.align(out.written, alignment) - out.written);
  }

  private static void writeValue(Le out, int type, Object value) throws IOException {
    switch (type) {
      case 4, 5 -> out.u32((int) (long) (Long) value);
      case 10 -> out.u64((Long) value);
      case 6 -> out.u32(Float.floatToRawIntBits((Float) value));
      case 12 -> out.u64(Double.doubleToRawLongBits((Double) value));
      case 7 -> out.bytes(new byte[] {(byte) ((Boolean) value ? 1 : 0)});
      case 8 -> out.string((String) value);
      case 9 -> {
        Object[] arr = (Object[]) value;
        int elemType = (Integer) arr[0];
        List<?> items = (List<?>) arr[1];
        out.u32(elemType);
        out.u64(items.size());
        for (Object item : items) {
          writeValue(out, elemType, item);
        }
      }
      default -> throw new IllegalStateException("type " + type);
    }
  }

  /** Little-endian primitive writer counting bytes. */
  private static final class Le {
    private final OutputStream out;
    private final byte[] scratch = new byte[8];
    long written;

    Le(OutputStream out) {
      this.out = out;
    }

    void u32(int v) throws IOException {
      for (int i = 0; i < 4; i++) {
        scratch[i] = (byte) (v >>> (8 * i));
      }
      out.write(scratch, 0, 4);
      written += 4;
    }

    void u64(long v) throws IOException {
      for (int i = 0; i < 8; i++) {
        scratch[i] = (byte) (v >>> (8 * i));
      }
      out.write(scratch, 0, 8);
      written += 8;
    }

    void string(String s) throws IOException {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      u64(b.length);
      bytes(b);
    }

    void bytes(byte[] b) throws IOException {
      out.write(b);
      written += b.length;
    }

    void pad(long n) throws IOException {
      for (long i = 0; i < n; i++) {
        out.write(0);
      }
      written += n;
    }
  }
}
