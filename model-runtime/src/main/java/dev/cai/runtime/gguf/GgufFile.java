package dev.cai.runtime.gguf;

import dev.cai.runtime.weights.ModelLoadException;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The header of a GGUF file (version 2 or 3): metadata key/values and tensor infos, parsed and validated without
 * reading tensor data, which {@link #readFloats} reads on demand. Format: the
 * <a href="https://github.com/ggml-org/ggml/blob/master/docs/gguf.md">GGUF specification</a>.
 *
 * <p>Metadata values are {@link Long} (all integer types), {@link Float}, {@link Double}, {@link Boolean},
 * {@link String}, or an unmodifiable {@link List} of those for arrays.
 */
public final class GgufFile {
  /** "GGUF" read as a little-endian uint32. */
  public static final int MAGIC = 0x46554747;
  public static final int DEFAULT_ALIGNMENT = 32;
  /** ggml's GGML_MAX_DIMS. */
  public static final int MAX_DIMS = 4;

  /** One tensor's entry in the header; {@code ne[0]} is the innermost (fastest-varying) dimension. */
  public record TensorInfo(String name, long[] ne, GgmlType type, long offset) {
    public TensorInfo {
      ne = ne.clone();
    }

    public long numel() {
      long n = 1;
      for (long d : ne) {
        n *= d;
      }
      return n;
    }

    /** Bytes of this tensor's data. */
    public long byteSize() {
      return type.bytesFor(numel());
    }

    /** Shape in PyTorch order (outermost first): {@code ne} reversed. */
    public long[] shape() {
      long[] s = new long[ne.length];
      for (int i = 0; i < ne.length; i++) {
        s[i] = ne[ne.length - 1 - i];
      }
      return s;
    }

    @Override
    public String toString() {
      return name + " " + type + " ne=" + Arrays.toString(ne) + " @" + offset;
    }
  }

  private final Path path;
  private final int version;
  private final Map<String, Object> metadata;
  private final Map<String, TensorInfo> tensors;
  private final long alignment;
  private final long dataStart;
  private final long fileSize;

  private GgufFile(Path path, int version, Map<String, Object> metadata, Map<String, TensorInfo> tensors,
      long alignment, long dataStart, long fileSize) {
    this.path = path;
    this.version = version;
    this.metadata = Collections.unmodifiableMap(metadata);
    this.tensors = Collections.unmodifiableMap(tensors);
    this.alignment = alignment;
    this.dataStart = dataStart;
    this.fileSize = fileSize;
  }

  /** Parses and validates the header of {@code path}; every problem is a {@link ModelLoadException} naming it. */
  public static GgufFile read(Path path) {
    if (!Files.isRegularFile(path)) {
      throw new ModelLoadException("GGUF file not found: " + path);
    }
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      return parse(path, ch);
    } catch (IOException e) {
      throw new ModelLoadException("Cannot read GGUF file " + path + ": " + e.getMessage(), e);
    }
  }

  private static GgufFile parse(Path path, FileChannel ch) throws IOException {
    long size = ch.size();
    Reader r = new Reader(ch, path, size);
    int magic = r.i32("magic");
    if (magic != MAGIC) {
      throw new ModelLoadException("Not a GGUF file: " + path + " (magic 0x" + Integer.toHexString(magic)
          + ", expected 'GGUF')");
    }
    int version = r.i32("version");
    if (version != 2 && version != 3) {
      String hint = Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3
          ? " (a big-endian GGUF, which is not supported)" : "";
      throw new ModelLoadException("Unsupported GGUF version " + version + " in " + path
          + hint + "; versions 2 and 3 are supported");
    }
    long tensorCount = r.u64("tensor count");
    long kvCount = r.u64("metadata count");
    // every tensor info takes >= 24 bytes and every key/value >= 12: reject absurd counts before allocating
    if (tensorCount < 0 || tensorCount > size / 24 || kvCount < 0 || kvCount > size / 12) {
      throw new ModelLoadException("Corrupt or truncated GGUF header in " + path + ": " + tensorCount + " tensors and "
          + kvCount + " metadata entries cannot fit in " + size + " bytes");
    }
    Map<String, Object> metadata = new LinkedHashMap<>();
    for (long i = 0; i < kvCount; i++) {
      String key = r.string("metadata key #" + i);
      int type = r.i32("type of " + key);
      metadata.put(key, r.value(type, key, true));
    }
    long alignment = DEFAULT_ALIGNMENT;
    Object a = metadata.get("general.alignment");
    if (a != null) {
      if (!(a instanceof Long l) || l <= 0 || Long.bitCount(l) != 1) {
        throw new ModelLoadException("Invalid general.alignment " + a + " in " + path + " (must be a power of two)");
      }
      alignment = l;
    }
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    for (long i = 0; i < tensorCount; i++) {
      String name = r.string("name of tensor #" + i);
      int nDims = r.i32("dimension count of tensor " + name);
      if (nDims < 1 || nDims > MAX_DIMS) {
        throw new ModelLoadException("Tensor '" + name + "' in " + path + " has " + nDims
            + " dimensions (1.." + MAX_DIMS + " allowed)");
      }
      long[] ne = new long[nDims];
      long numel = 1;
      for (int d = 0; d < nDims; d++) {
        ne[d] = r.u64("dimension " + d + " of tensor " + name);
        if (ne[d] <= 0 || ne[d] > size * 8) {
          throw new ModelLoadException("Tensor '" + name + "' in " + path + " has an invalid dimension " + ne[d]);
        }
        numel = Math.multiplyExact(numel, ne[d]);
      }
      int typeId = r.i32("type of tensor " + name);
      GgmlType type = GgmlType.byId(typeId);
      if (type == null) {
        throw new ModelLoadException("Tensor '" + name + "' in " + path + " has unknown ggml type id " + typeId);
      }
      if (ne[0] % type.blockSize != 0) {
        throw new ModelLoadException("Tensor '" + name + "' in " + path + " has row length " + ne[0]
            + ", not a multiple of the " + type + " block size " + type.blockSize);
      }
      long offset = r.u64("offset of tensor " + name);
      if (offset % alignment != 0) {
        throw new ModelLoadException("Tensor '" + name + "' in " + path + " has offset " + offset
            + ", not aligned to " + alignment);
      }
      if (tensors.put(name, new TensorInfo(name, ne, type, offset)) != null) {
        throw new ModelLoadException("Duplicate tensor '" + name + "' in " + path);
      }
    }
    long dataStart = align(r.position(), alignment);
    for (TensorInfo t : tensors.values()) {
      long end = dataStart + t.offset() + t.byteSize();
      if (end > size || end < 0) {
        throw new ModelLoadException("Tensor '" + t.name() + "' in " + path + " extends past the end of the file ("
            + end + " > " + size + " bytes): the file is truncated or corrupt");
      }
    }
    return new GgufFile(path, version, metadata, tensors, alignment, dataStart, size);
  }

  static long align(long pos, long alignment) {
    return (pos + alignment - 1) / alignment * alignment;
  }

  public Path path() {
    return path;
  }

  public int version() {
    return version;
  }

  public long alignment() {
    return alignment;
  }

  /** Absolute file offset of the tensor data section. */
  public long dataStart() {
    return dataStart;
  }

  public Map<String, Object> metadata() {
    return metadata;
  }

  /** Tensor infos in file order. */
  public List<TensorInfo> tensors() {
    return List.copyOf(tensors.values());
  }

  public Optional<TensorInfo> tensor(String name) {
    return Optional.ofNullable(tensors.get(name));
  }

  /** The tensor info, or an error naming the missing tensor and this file. */
  public TensorInfo requireTensor(String name) {
    TensorInfo t = tensors.get(name);
    if (t == null) {
      throw new ModelLoadException("Missing tensor '" + name + "' in " + path);
    }
    return t;
  }

  public boolean has(String key) {
    return metadata.containsKey(key);
  }

  /** A required string value. */
  public String string(String key) {
    return typed(key, String.class, "a string");
  }

  public Optional<String> optString(String key) {
    return has(key) ? Optional.of(string(key)) : Optional.empty();
  }

  /** A required integer value of any width. */
  public long integer(String key) {
    return typed(key, Long.class, "an integer");
  }

  public long integer(String key, long defaultValue) {
    return has(key) ? integer(key) : defaultValue;
  }

  /**
   * A required number (integer or floating point) as a double; a float32 becomes the double of its shortest
   * decimal form (1e-5f gives 1.0E-5, not 9.99999974E-6).
   */
  public double number(String key) {
    Object v = require(key);
    if (v instanceof Float f) {
      return Double.parseDouble(Float.toString(f));
    }
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    throw wrongType(key, v, "a number");
  }

  public double number(String key, double defaultValue) {
    return has(key) ? number(key) : defaultValue;
  }

  public boolean bool(String key, boolean defaultValue) {
    return has(key) ? typed(key, Boolean.class, "a boolean") : defaultValue;
  }

  /** A required array of strings. */
  public List<String> strings(String key) {
    List<?> list = typed(key, List.class, "an array");
    for (Object o : list) {
      if (!(o instanceof String)) {
        throw wrongType(key, o, "an array of strings");
      }
    }
    @SuppressWarnings("unchecked")
    List<String> strings = (List<String>) list;
    return strings;
  }

  /** A required array of integers, narrowed to int. */
  public int[] ints(String key) {
    List<?> list = typed(key, List.class, "an array");
    int[] out = new int[list.size()];
    for (int i = 0; i < out.length; i++) {
      if (!(list.get(i) instanceof Long l) || l != (int) (long) l) {
        throw wrongType(key, list.get(i), "an array of 32-bit integers");
      }
      out[i] = (int) (long) l;
    }
    return out;
  }

  private Object require(String key) {
    Object v = metadata.get(key);
    if (v == null) {
      throw new ModelLoadException("Missing metadata key '" + key + "' in " + path);
    }
    return v;
  }

  private <T> T typed(String key, Class<T> type, String what) {
    Object v = require(key);
    if (!type.isInstance(v)) {
      throw wrongType(key, v, what);
    }
    return type.cast(v);
  }

  private ModelLoadException wrongType(String key, Object v, String what) {
    String shown = v instanceof List<?> l ? "an array of " + l.size() : String.valueOf(v);
    return new ModelLoadException("Metadata key '" + key + "' in " + path + " should be " + what + ", got " + shown);
  }

  /** The raw bytes of tensor {@code t}. */
  public byte[] readBytes(TensorInfo t) {
    long n = t.byteSize();
    if (n > Integer.MAX_VALUE - 16) {
      throw new ModelLoadException("Tensor '" + t.name() + "' in " + path + " is too large (" + n + " bytes)");
    }
    byte[] bytes = new byte[(int) n];
    ByteBuffer buf = ByteBuffer.wrap(bytes);
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      long pos = dataStart + t.offset();
      while (buf.hasRemaining()) {
        int read = ch.read(buf, pos + buf.position());
        if (read < 0) {
          throw new ModelLoadException("Tensor '" + t.name() + "' in " + path + " is truncated: the file ended after "
              + buf.position() + " of " + n + " bytes");
        }
      }
    } catch (IOException e) {
      throw new ModelLoadException("Cannot read tensor '" + t.name() + "' from " + path + ": " + e.getMessage(), e);
    }
    return bytes;
  }

  /** Tensor {@code t} dequantized to float32, in ggml order (ne[0] fastest) = PyTorch row-major of {@link TensorInfo#shape()}. */
  public float[] readFloats(TensorInfo t) {
    if (!t.type().dequantizable) {
      throw new ModelLoadException("Tensor '" + t.name() + "' in " + path + " has type " + t.type()
          + ", which cannot be dequantized (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)");
    }
    if (t.numel() > Integer.MAX_VALUE - 16) {
      throw new ModelLoadException("Tensor '" + t.name() + "' in " + path + " has too many values: " + t.numel());
    }
    return Dequantize.toFloats(t.type(), readBytes(t), 0, (int) t.numel());
  }

  @Override
  public String toString() {
    return "GGUF v" + version + " " + path + " (" + metadata.size() + " keys, " + tensors.size() + " tensors)";
  }

  /** Little-endian buffered reader over the header, turning EOF into a clear error. */
  private static final class Reader {
    private final FileChannel ch;
    private final Path path;
    private final long size;
    private ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN).flip();
    private long consumed;

    Reader(FileChannel ch, Path path, long size) {
      this.ch = ch;
      this.path = path;
      this.size = size;
    }

    long position() {
      return consumed;
    }

    private void ensure(int n, String what) throws IOException {
      if (buf.remaining() >= n) {
        return;
      }
      if (consumed + n > size) {
        throw new ModelLoadException("GGUF file " + path + " is truncated: it ends at byte " + size
            + " while reading " + what + " at byte " + consumed);
      }
      if (n > buf.capacity()) {
        ByteBuffer bigger = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        bigger.put(buf);
        buf = bigger;
      } else {
        buf.compact();
      }
      while (buf.position() < n) {
        if (ch.read(buf, consumed + buf.position()) < 0) {
          throw new EOFException("unexpected end of " + path);
        }
      }
      buf.flip();
    }

    int i32(String what) throws IOException {
      ensure(4, what);
      consumed += 4;
      return buf.getInt();
    }

    long u64(String what) throws IOException {
      ensure(8, what);
      consumed += 8;
      return buf.getLong();
    }

    String string(String what) throws IOException {
      long len = u64("length of " + what);
      if (len < 0 || len > size - consumed) {
        throw new ModelLoadException("Corrupt GGUF file " + path + ": " + what + " has length " + len
            + " at byte " + consumed + ", beyond the end of the file (truncated or corrupt)");
      }
      ensure((int) len, what);
      byte[] bytes = new byte[(int) len];
      buf.get(bytes);
      consumed += len;
      try {
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
      } catch (CharacterCodingException e) {
        // llama.cpp vocabularies occasionally hold raw byte tokens; keep them readable rather than failing
        return new String(bytes, StandardCharsets.UTF_8);
      }
    }

    Object value(int type, String key, boolean allowArray) throws IOException {
      String what = "value of " + key;
      return switch (type) {
        case 0 -> (long) (bytes(1, what).get() & 0xFF);
        case 1 -> (long) bytes(1, what).get();
        case 2 -> (long) (bytes(2, what).getShort() & 0xFFFF);
        case 3 -> (long) bytes(2, what).getShort();
        case 4 -> i32(what) & 0xFFFFFFFFL;
        case 5 -> (long) i32(what);
        case 6 -> Float.intBitsToFloat(i32(what));
        case 7 -> bool(key, bytes(1, what).get());
        case 8 -> string(what);
        case 9 -> array(key, allowArray);
        case 10, 11 -> u64(what);
        case 12 -> bytes(8, what).getDouble();
        default -> throw new ModelLoadException("Corrupt GGUF file " + path + ": metadata key '" + key
            + "' has unknown value type " + type);
      };
    }

    /** The buffer, positioned at the next {@code n} bytes, which count as consumed. */
    private ByteBuffer bytes(int n, String what) throws IOException {
      ensure(n, what);
      consumed += n;
      return buf;
    }

    private boolean bool(String key, byte b) {
      if (b != 0 && b != 1) {
        throw new ModelLoadException("Corrupt GGUF file " + path + ": boolean " + key + " has byte " + b);
      }
      return b == 1;
    }

    private List<Object> array(String key, boolean allowArray) throws IOException {
      if (!allowArray) {
        throw new ModelLoadException("Corrupt GGUF file " + path + ": nested array in " + key);
      }
      int elemType = i32("element type of " + key);
      long count = u64("length of " + key);
      if (count < 0 || count > size - consumed) {
        throw new ModelLoadException("Corrupt GGUF file " + path + ": array " + key + " claims " + count
            + " elements, more than the file can hold (truncated or corrupt)");
      }
      List<Object> list = new ArrayList<>((int) count);
      for (long i = 0; i < count; i++) {
        list.add(value(elemType, key, false));
      }
      return Collections.unmodifiableList(list);
    }
  }
}
