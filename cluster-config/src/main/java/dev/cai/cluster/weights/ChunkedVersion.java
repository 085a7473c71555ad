package dev.cai.cluster.weights;

import com.google.protobuf.UnsafeByteOperations;
import dev.cai.protocol.v1.DType;
import dev.cai.protocol.v1.PolicyVersionManifest;
import dev.cai.protocol.v1.PolicyWeightsChunk;
import dev.cai.protocol.v1.TensorManifest;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;

/**
 * One policy version cut for shipping: its {@link PolicyVersionManifest} and its chunks, numbered 0..n-1 in manifest
 * order (tensors by name, each tensor's chunks by index). A chunk holds at most {@code chunkBytes} of one tensor's
 * little-endian float32 bytes; an empty tensor still has one (empty) chunk. Chunks are cut on demand from the
 * weights, so a version costs no more memory than the weights themselves.
 */
public final class ChunkedVersion {
  private final PolicyVersionManifest manifest;
  private final List<HostTensor> tensors;
  private final int[] firstSeq; // seq of each tensor's first chunk, ascending
  private final int chunkFloats;

  private ChunkedVersion(PolicyVersionManifest manifest, List<HostTensor> tensors, int[] firstSeq, int chunkFloats) {
    this.manifest = manifest;
    this.tensors = tensors;
    this.firstSeq = firstSeq;
    this.chunkFloats = chunkFloats;
  }

  /**
   * Cuts {@code weights} as policy version {@code version} into chunks of at most {@code chunkBytes} (a positive
   * multiple of 4), hashing every tensor (blocking: about 2 s for 540 MB).
   */
  public static ChunkedVersion split(long version, ModelWeights weights, int chunkBytes) {
    if (version < 0) {
      throw new IllegalArgumentException("policy version must be >= 0, got " + version);
    }
    if (chunkBytes <= 0 || chunkBytes % WeightManifests.FLOAT_BYTES != 0) {
      throw new IllegalArgumentException("chunk bytes must be a positive multiple of 4, got " + chunkBytes);
    }
    int chunkFloats = chunkBytes / WeightManifests.FLOAT_BYTES;
    List<HostTensor> tensors = new ArrayList<>(new TreeMap<>(weights.tensors()).values());
    PolicyVersionManifest.Builder m = PolicyVersionManifest.newBuilder()
        .setVersion(version)
        .setConfig(WeightManifests.toProto(weights.config()))
        .setConfigFingerprint(WeightManifests.fingerprint(weights.config()))
        .setChunkBytes(chunkBytes)
        .setSource(weights.source() == null ? "" : weights.source());
    int[] firstSeq = new int[tensors.size()];
    long seq = 0;
    long total = 0;
    for (int i = 0; i < tensors.size(); i++) {
      HostTensor t = tensors.get(i);
      int count = chunkCount(t.data().length, chunkFloats);
      firstSeq[i] = Math.toIntExact(seq);
      seq += count;
      total += WeightManifests.byteSize(t);
      m.addTensors(TensorManifest.newBuilder()
          .setName(t.name())
          .addAllShape(Arrays.stream(t.shape()).boxed().toList())
          .setDtype(DType.FLOAT32)
          .setBytes(WeightManifests.byteSize(t))
          .setChunkCount(count)
          .setSha256(WeightManifests.sha256(t.data(), chunkFloats)));
    }
    m.setTotalBytes(total).setChunkCount(Math.toIntExact(seq));
    return new ChunkedVersion(m.build(), List.copyOf(tensors), firstSeq, chunkFloats);
  }

  /** Chunks of a tensor of {@code floats} values: ceil(floats / chunkFloats), at least 1. */
  static int chunkCount(long floats, int chunkFloats) {
    return Math.toIntExact(Math.max(1, (floats + chunkFloats - 1) / chunkFloats));
  }

  public PolicyVersionManifest manifest() {
    return manifest;
  }

  public long version() {
    return manifest.getVersion();
  }

  /** Chunks of the whole version. */
  public int chunkCount() {
    return manifest.getChunkCount();
  }

  /** Chunk {@code seq} (0-based over the whole version). */
  public PolicyWeightsChunk chunk(int seq) {
    if (seq < 0 || seq >= chunkCount()) {
      throw new IndexOutOfBoundsException("chunk " + seq + " of a version of " + chunkCount() + " chunks");
    }
    int found = Arrays.binarySearch(firstSeq, seq);
    int t = found >= 0 ? found : -found - 2; // firstSeq ascends strictly: every tensor has at least one chunk
    TensorManifest tm = manifest.getTensors(t);
    HostTensor tensor = tensors.get(t);
    int index = seq - firstSeq[t];
    int from = index * chunkFloats;
    int count = Math.min(chunkFloats, tensor.data().length - from);
    return PolicyWeightsChunk.newBuilder()
        .setVersion(manifest.getVersion())
        .setTensorName(tm.getName())
        .addAllShape(tm.getShapeList())
        .setDtype(tm.getDtype())
        .setData(UnsafeByteOperations.unsafeWrap(WeightManifests.bytes(tensor.data(), from, count)))
        .setChunkIndex(index)
        .setChunkCount(tm.getChunkCount())
        .setTensorSha256(tm.getSha256())
        .build();
  }
}
