package dev.cai.cluster.weights;

import dev.cai.protocol.v1.ModelConfig;
import dev.cai.runtime.io.Sha256;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.weights.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/** The shared vocabulary of shipped weights: config ⇄ Protobuf, config fingerprints, tensor bytes and their SHA-256. */
public final class WeightManifests {
  /** Bytes of one float32 on the wire (little-endian). */
  public static final int FLOAT_BYTES = 4;

  private WeightManifests() {}

  /** The config as its Protobuf message. */
  public static ModelConfig toProto(LlamaConfig c) {
    return ModelConfig.newBuilder()
        .setVocabSize(c.vocabSize()).setHiddenSize(c.hiddenSize()).setIntermediateSize(c.intermediateSize())
        .setNumLayers(c.numLayers()).setNumHeads(c.numHeads()).setNumKvHeads(c.numKvHeads()).setHeadDim(c.headDim())
        .setRopeTheta(c.ropeTheta()).setRmsNormEps(c.rmsNormEps()).setMaxPositionEmbeddings(c.maxPositionEmbeddings())
        .setTieWordEmbeddings(c.tieWordEmbeddings()).setBosTokenId(c.bosTokenId()).setEosTokenId(c.eosTokenId())
        .setPadTokenId(c.padTokenId())
        .build();
  }

  /** The config a message describes; an invalid one fails with {@link LlamaConfig}'s error. */
  public static LlamaConfig fromProto(ModelConfig m) {
    return new LlamaConfig(m.getVocabSize(), m.getHiddenSize(), m.getIntermediateSize(), m.getNumLayers(),
        m.getNumHeads(), m.getNumKvHeads(), m.getHeadDim(), m.getRopeTheta(), m.getRmsNormEps(),
        m.getMaxPositionEmbeddings(), m.getTieWordEmbeddings(), m.getBosTokenId(), m.getEosTokenId(),
        m.getPadTokenId());
  }

  /** Lower-case hex SHA-256 of the config's canonical text (the record's own {@code toString}). */
  public static String fingerprint(LlamaConfig c) {
    return Sha256.of(c.toString().getBytes(StandardCharsets.UTF_8));
  }

  /** Bytes of {@code t} on the wire. */
  public static long byteSize(HostTensor t) {
    return t.numel() * FLOAT_BYTES;
  }

  /** Little-endian bytes of {@code count} floats of {@code data} from {@code offset}. */
  public static byte[] bytes(float[] data, int offset, int count) {
    ByteBuffer b = ByteBuffer.allocate(count * FLOAT_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(data, offset, count);
    return b.array();
  }

  /** Lower-case hex SHA-256 of the tensor's little-endian bytes, digested {@code blockFloats} floats at a time. */
  public static String sha256(float[] data, int blockFloats) {
    MessageDigest d = Sha256.digest();
    for (int off = 0; off < data.length; off += blockFloats) {
      d.update(bytes(data, off, Math.min(blockFloats, data.length - off)));
    }
    return Sha256.hex(d);
  }
}
