package dev.cai.cluster.weights;

import dev.cai.protocol.v1.DType;
import dev.cai.protocol.v1.PolicyVersionManifest;
import dev.cai.protocol.v1.PolicyWeightsChunk;
import dev.cai.protocol.v1.TensorManifest;
import dev.cai.runtime.io.Sha256;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelWeights;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Rebuilds one shipped policy version from its chunks, in any order: checks the manifest, then every chunk against
 * it (version, tensor, shape, dtype, chunk index and count, size, duplicate, SHA-256), and yields the same
 * {@link ModelWeights} bit for bit once every chunk arrived. Any problem throws a {@link WeightsRejectedException}
 * naming the version, the peer and the tensor; the assembler is then useless (start a fresh one).
 *
 * <p>Not thread-safe: one fetch, one owner.
 */
public final class WeightAssembler {
  private static final int SHA256_HEX = 64;

  private final PolicyVersionManifest manifest;
  private final String peer;
  private final LlamaConfig config;
  private final Map<String, Tensor> tensors = new LinkedHashMap<>();
  private int received;
  private boolean failed;

  /** A tensor being filled in. */
  private static final class Tensor {
    final TensorManifest manifest;
    final long[] shape;
    final float[] data;
    final BitSet arrived = new BitSet();
    MessageDigest inOrder = Sha256.digest(); // digests chunks that arrive in index order; else null
    int nextInOrder;

    Tensor(TensorManifest manifest, long[] shape, int numel) {
      this.manifest = manifest;
      this.shape = shape;
      this.data = new float[numel];
    }
  }

  /** An assembler for the version {@code manifest} describes, sent by {@code peer} (named in errors). */
  public WeightAssembler(PolicyVersionManifest manifest, String peer) {
    this.manifest = manifest;
    this.peer = peer;
    this.config = checkManifest();
  }

  public PolicyVersionManifest manifest() {
    return manifest;
  }

  public long version() {
    return manifest.getVersion();
  }

  /** Chunks accepted so far. */
  public int received() {
    return received;
  }

  /** Whether every chunk of the version arrived (and every tensor's SHA-256 matched). */
  public boolean isComplete() {
    return !failed && received == manifest.getChunkCount();
  }

  /** Checks {@code c} against the manifest and copies its data in; throws naming the tensor and the problem. */
  public void accept(PolicyWeightsChunk c) {
    if (failed) {
      throw new IllegalStateException(prefix() + "already rejected; start a fresh assembler");
    }
    try {
      acceptChecked(c);
    } catch (WeightsRejectedException e) {
      failed = true;
      throw e;
    }
  }

  private void acceptChecked(PolicyWeightsChunk c) {
    if (c.getVersion() != manifest.getVersion()) {
      throw reject("tensor '" + c.getTensorName() + "' chunk " + c.getChunkIndex() + " is of "
          + (c.getVersion() < manifest.getVersion() ? "older" : "newer") + " policy version " + c.getVersion());
    }
    Tensor t = tensors.get(c.getTensorName());
    if (t == null) {
      throw reject("unknown tensor '" + c.getTensorName() + "' (not in the manifest)");
    }
    String name = "tensor '" + c.getTensorName() + "': ";
    long[] shape = c.getShapeList().stream().mapToLong(Long::longValue).toArray();
    if (!Arrays.equals(shape, t.shape)) {
      throw reject(name + "chunk " + c.getChunkIndex() + " has shape " + Arrays.toString(shape) + " but the manifest says "
          + Arrays.toString(t.shape));
    }
    if (c.getDtype() != t.manifest.getDtype()) {
      throw reject(name + "chunk " + c.getChunkIndex() + " has dtype " + c.getDtype() + " but the manifest says "
          + t.manifest.getDtype());
    }
    int count = t.manifest.getChunkCount();
    if (c.getChunkCount() != count) {
      throw reject(name + "chunk " + c.getChunkIndex() + " says the tensor has " + c.getChunkCount()
          + " chunks but the manifest says " + count);
    }
    int index = c.getChunkIndex();
    if (index < 0 || index >= count) {
      throw reject(name + "chunk index " + Integer.toUnsignedString(index) + " is out of range 0.." + (count - 1));
    }
    if (!c.getTensorSha256().equals(t.manifest.getSha256())) {
      throw reject(name + "chunk " + index + " carries sha256 " + c.getTensorSha256() + " but the manifest says "
          + t.manifest.getSha256());
    }
    if (t.arrived.get(index)) {
      throw reject(name + "chunk " + index + " of " + count + " arrived twice");
    }
    int chunkFloats = manifest.getChunkBytes() / WeightManifests.FLOAT_BYTES;
    int from = index * chunkFloats;
    int floats = Math.min(chunkFloats, t.data.length - from);
    if (c.getData().size() != floats * WeightManifests.FLOAT_BYTES) {
      throw reject(name + "chunk " + index + " of " + count + " has " + c.getData().size() + " bytes, expected "
          + floats * WeightManifests.FLOAT_BYTES);
    }
    c.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(t.data, from, floats);
    if (t.inOrder != null && index == t.nextInOrder) {
      c.getData().asReadOnlyByteBufferList().forEach(t.inOrder::update);
      t.nextInOrder++;
    } else {
      t.inOrder = null; // out of order: hash the whole tensor once it is complete
    }
    t.arrived.set(index);
    received++;
    if (t.arrived.cardinality() == count) {
      String sha = t.inOrder != null ? Sha256.hex(t.inOrder)
          : WeightManifests.sha256(t.data, chunkFloats);
      if (!sha.equals(t.manifest.getSha256())) {
        throw reject(name + "sha256 mismatch: the manifest says " + t.manifest.getSha256() + " but the "
            + count + " chunks received hash to " + sha);
      }
    }
  }

  /** The assembled weights; only once {@link #isComplete()}. */
  public ModelWeights weights() {
    if (!isComplete()) {
      throw new IllegalStateException(prefix() + "incomplete: " + received + " of " + manifest.getChunkCount()
          + " chunks arrived");
    }
    Map<String, HostTensor> out = new LinkedHashMap<>();
    tensors.forEach((name, t) -> out.put(name, new HostTensor(name, t.shape, t.data)));
    return new ModelWeights(config, out, manifest.getSource() + " (policy version " + manifest.getVersion()
        + " from " + peer + ")");
  }

  /** Checks the manifest on its own and prepares a buffer per tensor; returns its config. */
  private LlamaConfig checkManifest() {
    if (!manifest.hasConfig()) {
      throw reject("the manifest has no model config");
    }
    LlamaConfig c;
    try {
      c = WeightManifests.fromProto(manifest.getConfig());
    } catch (IllegalArgumentException e) {
      throw reject("the manifest's model config is invalid: " + e.getMessage());
    }
    String fingerprint = WeightManifests.fingerprint(c);
    if (!fingerprint.equals(manifest.getConfigFingerprint())) {
      throw reject("the manifest's config fingerprint " + manifest.getConfigFingerprint()
          + " does not match its config (" + fingerprint + ")");
    }
    int chunkBytes = manifest.getChunkBytes();
    if (chunkBytes <= 0 || chunkBytes % WeightManifests.FLOAT_BYTES != 0) {
      throw reject("chunk bytes " + Integer.toUnsignedString(chunkBytes) + " is not a positive multiple of 4");
    }
    long total = 0;
    long chunks = 0;
    Set<String> seen = new HashSet<>();
    for (TensorManifest tm : manifest.getTensorsList()) {
      String name = "tensor '" + tm.getName() + "': ";
      if (tm.getName().isEmpty() || !seen.add(tm.getName())) {
        throw reject(tm.getName().isEmpty() ? "a tensor has no name" : name + "listed twice");
      }
      if (tm.getDtype() != DType.FLOAT32) {
        throw reject(name + "dtype " + tm.getDtype() + " is not supported (only FLOAT32)");
      }
      long[] shape = tm.getShapeList().stream().mapToLong(Long::longValue).toArray();
      long numel = numel(shape);
      if (numel < 0 || numel > Integer.MAX_VALUE) {
        throw reject(name + "shape " + Arrays.toString(shape) + " is not a valid tensor shape (negative or over "
            + Integer.MAX_VALUE + " elements)");
      }
      if (tm.getBytes() != numel * WeightManifests.FLOAT_BYTES) {
        throw reject(name + "size " + tm.getBytes() + " bytes does not match shape " + Arrays.toString(shape));
      }
      int expectedChunks = ChunkedVersion.chunkCount(numel, chunkBytes / WeightManifests.FLOAT_BYTES);
      if (tm.getChunkCount() != expectedChunks) {
        throw reject(name + "chunk count " + Integer.toUnsignedString(tm.getChunkCount()) + " should be "
            + expectedChunks + " for " + tm.getBytes() + " bytes in chunks of " + chunkBytes);
      }
      if (tm.getSha256().length() != SHA256_HEX || !tm.getSha256().chars().allMatch(ch -> Character.digit(ch, 16) >= 0
          && !Character.isUpperCase(ch))) {
        throw reject(name + "sha256 '" + tm.getSha256() + "' is not 64 lower-case hex digits");
      }
      total += tm.getBytes();
      chunks += expectedChunks;
    }
    if (manifest.getTotalBytes() != total || manifest.getChunkCount() != chunks) {
      throw reject("the manifest says " + manifest.getTotalBytes() + " bytes in " + manifest.getChunkCount()
          + " chunks but its tensors add up to " + total + " bytes in " + chunks + " chunks");
    }
    for (TensorManifest tm : manifest.getTensorsList()) {
      long[] shape = tm.getShapeList().stream().mapToLong(Long::longValue).toArray();
      tensors.put(tm.getName(), new Tensor(tm, shape, (int) numel(shape)));
    }
    return c;
  }

  /** Elements of {@code shape}; -1 when a dimension is negative or the product overflows a long. */
  private static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        return -1;
      }
      try {
        n = Math.multiplyExact(n, d);
      } catch (ArithmeticException e) {
        return -1;
      }
    }
    return n;
  }

  private String prefix() {
    return "policy version " + manifest.getVersion() + " from " + peer + ": ";
  }

  private WeightsRejectedException reject(String problem) {
    return new WeightsRejectedException(prefix() + problem);
  }
}
