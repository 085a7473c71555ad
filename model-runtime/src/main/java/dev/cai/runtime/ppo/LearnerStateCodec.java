package dev.cai.runtime.ppo;

import dev.cai.protocol.v1.LearnerStateHeader;
import dev.cai.protocol.v1.SourceOffset;
import dev.cai.runtime.model.LlamaConfig;
import java.util.List;
import java.util.Map;

/**
 * A {@link LearnerSnapshot} as named byte values for the record store's learner-state column family (API draft):
 * one {@code PolicyWeightsChunk} per tensor with its SHA-256, and a {@link LearnerStateHeader}.
 */
public final class LearnerStateCodec {
  private LearnerStateCodec() {}

  /** The values to commit: header plus tensors by name. */
  public record Encoded(LearnerStateHeader header, Map<String, byte[]> tensors) {}

  public static Encoded encode(LearnerSnapshot snapshot, List<SourceOffset> inputOffsets) {
    throw new UnsupportedOperationException("not yet");
  }

  /**
   * The snapshot stored under {@code header} in {@code values} (every learner-state value by name); {@code where}
   * names the store in errors. Missing, mis-shaped or corrupt tensors throw {@link IllegalStateException}.
   */
  public static LearnerSnapshot decode(LearnerStateHeader header, Map<String, byte[]> values, LlamaConfig policyConfig,
      LlamaConfig criticConfig, String where) {
    throw new UnsupportedOperationException("not yet");
  }
}
