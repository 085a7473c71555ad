package dev.cai.runtime.io;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.cai.runtime.weights.HostTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes float32 tensors as one safetensors file (https://github.com/huggingface/safetensors#format),
 * tensors sorted by name, header padded with spaces to a multiple of 8 bytes as the reference writer does,
 * and the file forced to disk before returning.
 */
public final class SafetensorsWriter {
  private static final int CHUNK_FLOATS = 1 << 18;

  private SafetensorsWriter() {}

  /** Writes {@code tensors} (unique names) with the given {@code __metadata__} to {@code file}, replacing it. */
  public static void write(Path file, Collection<HostTensor> tensors, Map<String, String> metadata)
      throws IOException {
    Map<String, HostTensor> byName = new TreeMap<>();
    for (HostTensor t : tensors) {
      if (byName.put(t.name(), t) != null) {
        throw new IllegalArgumentException("Duplicate tensor name '" + t.name() + "' for " + file);
      }
      if (t.name().equals("__metadata__")) {
        throw new IllegalArgumentException("'__metadata__' is reserved and cannot name a tensor in " + file);
      }
    }
    byte[] header = header(byName.values(), metadata);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
      writeFully(ch, len);
      writeFully(ch, ByteBuffer.wrap(header));
      ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_FLOATS * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      for (HostTensor t : byName.values()) {
        float[] data = t.data();
        for (int off = 0; off < data.length; off += CHUNK_FLOATS) {
          int n = Math.min(CHUNK_FLOATS, data.length - off);
          buf.clear();
          buf.asFloatBuffer().put(data, off, n);
          buf.limit(n * Float.BYTES);
          writeFully(ch, buf);
        }
      }
      ch.force(true);
    }
  }

  private static byte[] header(Collection<HostTensor> tensors, Map<String, String> metadata) {
    JsonObject root = new JsonObject();
    if (!metadata.isEmpty()) {
      JsonObject meta = new JsonObject();
      new TreeMap<>(metadata).forEach(meta::addProperty);
      root.add("__metadata__", meta);
    }
    long offset = 0;
    for (HostTensor t : tensors) {
      JsonObject e = new JsonObject();
      e.addProperty("dtype", SafetensorsDType.F32.name());
      JsonArray shape = new JsonArray();
      for (long d : t.shape()) {
        shape.add(d);
      }
      e.add("shape", shape);
      long end = offset + t.numel() * Float.BYTES;
      JsonArray offs = new JsonArray();
      offs.add(offset);
      offs.add(end);
      e.add("data_offsets", offs);
      root.add(t.name(), e);
      offset = end;
    }
    byte[] json = new Gson().toJson(root).getBytes(StandardCharsets.UTF_8);
    int padded = (json.length + 7) / 8 * 8;
    byte[] out = new byte[padded];
    System.arraycopy(json, 0, out, 0, json.length);
    for (int i = json.length; i < padded; i++) {
      out[i] = ' ';
    }
    return out;
  }

  private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
    while (buf.hasRemaining()) {
      ch.write(buf);
    }
  }
}
