package dev.cai.runtime.io;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.cai.runtime.gguf.Half;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelLoadException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An open, validated safetensors file (https://github.com/huggingface/safetensors#format): an 8-byte
 * little-endian header length, a JSON header {@code {name: {dtype, shape, data_offsets}, "__metadata__": {...}}},
 * then raw little-endian tensor data. The whole header is checked on {@link #open}; tensors are read on demand.
 */
public final class SafetensorsFile implements AutoCloseable {
  /** The reference implementation refuses headers above 100 MB; so do we. */
  static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

  private static final int CHUNK_BYTES = 1 << 20;

  /** One tensor's header entry; offsets are relative to the start of the data section. */
  public record TensorInfo(String name, SafetensorsDType dtype, long[] shape, long begin, long end) {
    public long numel() {
      return SafetensorsFile.numel(shape);
    }
  }

  private final Path path;
  private final FileChannel channel;
  private final long dataStart;
  private final Map<String, TensorInfo> tensors;
  private final Map<String, String> metadata;

  private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors,
      Map<String, String> metadata) {
    this.path = path;
    this.channel = channel;
    this.dataStart = dataStart;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  /** Opens and validates {@code path}; throws {@link ModelLoadException} naming the file and the problem. */
  public static SafetensorsFile open(Path path) throws IOException {
    FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
    try {
      long size = ch.size();
      if (size < 8) {
        throw IoErrors.invalid(path, "too short for a safetensors file (" + size
            + " bytes; the 8-byte header length alone is missing)");
      }
      ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, lenBuf, 0, path);
      long headerLen = lenBuf.flip().getLong();
      if (headerLen < 2 || headerLen > MAX_HEADER_BYTES) {
        throw IoErrors.invalid(path, "header length " + Long.toUnsignedString(headerLen)
            + " is not in [2, " + MAX_HEADER_BYTES + "]: not a safetensors file or corrupt");
      }
      if (headerLen > size - 8) {
        throw IoErrors.invalid(path, "header length " + headerLen + " runs past the end of the file ("
            + size + " bytes): truncated or not a safetensors file");
      }
      ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
      readFully(ch, headerBuf, 8, path);
      String json = new String(headerBuf.array(), StandardCharsets.UTF_8);
      long dataLen = size - 8 - headerLen;
      Header header = parseHeader(path, json, dataLen);
      return new SafetensorsFile(path, ch, 8 + headerLen, header.tensors, header.metadata);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  public Path path() {
    return path;
  }

  /** The {@code __metadata__} string map (empty if absent). */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** Tensor entries in data-offset order. */
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /** The header entry of {@code name}, or an error naming the tensor and the file. */
  public TensorInfo info(String name) {
    TensorInfo info = tensors.get(name);
    if (info == null) {
      throw IoErrors.invalid(path, "no tensor named '" + name + "'");
    }
    return info;
  }

  /** Reads {@code name} and widens it to float32 (F64 is narrowed); integer and 8-bit float types are refused. */
  public HostTensor readFloat32(String name) throws IOException {
    TensorInfo info = info(name);
    if (!info.dtype().readableAsFloat()) {
      throw IoErrors.invalid(path, "tensor '" + name + "' has dtype " + info.dtype()
          + ", which cannot be read as float32 (supported: F32, F16, BF16, F64)");
    }
    long n = info.numel();
    if (n > Integer.MAX_VALUE - 8) {
      throw IoErrors.invalid(path, "tensor '" + name + "' has " + n + " elements, too many for one array");
    }
    float[] out = new float[(int) n];
    int elem = info.dtype().byteSize();
    int perChunk = CHUNK_BYTES / elem;
    ByteBuffer buf = ByteBuffer.allocateDirect(perChunk * elem).order(ByteOrder.LITTLE_ENDIAN);
    int done = 0;
    while (done < n) {
      int count = (int) Math.min(perChunk, n - done);
      buf.clear().limit(count * elem);
      readFully(channel, buf, dataStart + info.begin() + (long) done * elem, path);
      buf.flip();
      decode(info.dtype(), buf, out, done, count);
      done += count;
    }
    return new HostTensor(name, info.shape().clone(), out);
  }

  /** Reads every tensor as float32, in file order. */
  public Map<String, HostTensor> readAllFloat32() throws IOException {
    Map<String, HostTensor> out = new LinkedHashMap<>();
    for (String name : tensors.keySet()) {
      out.put(name, readFloat32(name));
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  private static void decode(SafetensorsDType dtype, ByteBuffer buf, float[] out, int offset, int count) {
    switch (dtype) {
      case F32 -> buf.asFloatBuffer().get(out, offset, count);
      case F64 -> {
        for (int i = 0; i < count; i++) {
          out[offset + i] = (float) buf.getDouble();
        }
      }
      case F16 -> {
        for (int i = 0; i < count; i++) {
          out[offset + i] = Half.toFloat(buf.getShort() & 0xFFFF);
        }
      }
      case BF16 -> {
        for (int i = 0; i < count; i++) {
          out[offset + i] = Half.bf16ToFloat(buf.getShort() & 0xFFFF);
        }
      }
      default -> throw new IllegalStateException("not a float dtype: " + dtype);
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long position, Path path) throws IOException {
    long pos = position;
    while (buf.hasRemaining()) {
      int r = ch.read(buf, pos);
      if (r < 0) {
        throw IoErrors.invalid(path, "unexpected end of file at byte " + pos);
      }
      pos += r;
    }
  }

  private record Header(Map<String, TensorInfo> tensors, Map<String, String> metadata) {}

  private static Header parseHeader(Path path, String json, long dataLen) {
    JsonObject root;
    try {
      JsonElement el = JsonParser.parseString(json);
      if (!el.isJsonObject()) {
        throw IoErrors.invalid(path, "header is not a JSON object");
      }
      root = el.getAsJsonObject();
    } catch (JsonParseException e) {
      throw IoErrors.invalid(path, "header is not valid JSON: " + e.getMessage(), e);
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    List<TensorInfo> infos = new ArrayList<>();
    for (Map.Entry<String, JsonElement> e : root.entrySet()) {
      if (e.getKey().equals("__metadata__")) {
        if (!e.getValue().isJsonObject()) {
          throw IoErrors.invalid(path, "__metadata__ is not a JSON object");
        }
        for (Map.Entry<String, JsonElement> m : e.getValue().getAsJsonObject().entrySet()) {
          if (!m.getValue().isJsonPrimitive() || !m.getValue().getAsJsonPrimitive().isString()) {
            throw IoErrors.invalid(path, "__metadata__ value of '" + m.getKey() + "' is not a string");
          }
          metadata.put(m.getKey(), m.getValue().getAsString());
        }
        continue;
      }
      infos.add(parseEntry(path, e.getKey(), e.getValue(), dataLen));
    }
    infos.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    TensorInfo prev = null;
    for (TensorInfo info : infos) {
      if (prev != null && info.begin() < prev.end() && info.end() > info.begin()) {
        throw IoErrors.invalid(path, "tensors '" + prev.name() + "' and '" + info.name()
            + "' overlap in the data section");
      }
      tensors.put(info.name(), info);
      if (info.end() > info.begin()) {
        prev = info;
      }
    }
    return new Header(Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
  }

  private static TensorInfo parseEntry(Path path, String name, JsonElement value, long dataLen) {
    String where = "tensor '" + name + "'";
    if (!value.isJsonObject()) {
      throw IoErrors.invalid(path, where + ": header entry is not a JSON object");
    }
    JsonObject o = value.getAsJsonObject();
    JsonElement dt = o.get("dtype");
    if (dt == null || !dt.isJsonPrimitive()) {
      throw IoErrors.invalid(path, where + ": missing dtype");
    }
    SafetensorsDType dtype = SafetensorsDType.fromHeader(dt.getAsString()).orElseThrow(
        () -> IoErrors.invalid(path, where + ": unknown dtype '" + dt.getAsString() + "'"));
    long[] shape = longArray(path, where, "shape", o.get("shape"), -1);
    long[] offsets = longArray(path, where, "data_offsets", o.get("data_offsets"), 2);
    long begin = offsets[0];
    long end = offsets[1];
    if (begin > end) {
      throw IoErrors.invalid(path, where + ": data_offsets " + Arrays.toString(offsets)
          + " end before they begin");
    }
    if (end > dataLen) {
      throw IoErrors.invalid(path, where + ": data_offsets " + Arrays.toString(offsets)
          + " run past the data section (" + dataLen + " bytes): truncated or corrupt file");
    }
    long numel = numel(shape);
    if (numel < 0 || Math.multiplyHigh(numel, dtype.byteSize()) != 0 || numel * dtype.byteSize() != end - begin) {
      throw IoErrors.invalid(path, where + ": shape " + Arrays.toString(shape) + " of " + dtype
          + " needs " + numel + " × " + dtype.byteSize() + " bytes but data_offsets " + Arrays.toString(offsets)
          + " hold " + (end - begin));
    }
    return new TensorInfo(name, dtype, shape, begin, end);
  }

  private static long[] longArray(Path path, String where, String key, JsonElement el, int expectedLength) {
    if (el == null || !el.isJsonArray()) {
      throw IoErrors.invalid(path, where + ": missing or non-array " + key);
    }
    JsonArray arr = el.getAsJsonArray();
    if (expectedLength >= 0 && arr.size() != expectedLength) {
      throw IoErrors.invalid(path, where + ": " + key + " must have " + expectedLength
          + " entries, has " + arr.size());
    }
    long[] out = new long[arr.size()];
    for (int i = 0; i < out.length; i++) {
      JsonElement v = arr.get(i);
      long x;
      try {
        if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isNumber()) {
          throw new NumberFormatException();
        }
        x = v.getAsJsonPrimitive().getAsBigDecimal().longValueExact();
      } catch (NumberFormatException | ArithmeticException e) {
        throw IoErrors.invalid(path, where + ": " + key + " entry " + v + " is not an integer");
      }
      if (x < 0) {
        throw IoErrors.invalid(path, where + ": " + key + " entry " + x + " is negative");
      }
      out[i] = x;
    }
    return out;
  }

  /** Element count of {@code shape}, or -1 on overflow. */
  static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d != 0 && n > Long.MAX_VALUE / d) {
        return -1;
      }
      n *= d;
    }
    return n;
  }
}
