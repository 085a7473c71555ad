package dev.cai.protocol;

import dev.cai.protocol.v1.Comparison;
import dev.cai.protocol.v1.ConstitutionRef;
import dev.cai.protocol.v1.CritiqueRound;
import dev.cai.protocol.v1.LearnerStateHeader;
import dev.cai.protocol.v1.MetricsSnapshot;
import dev.cai.protocol.v1.PolicyWeightsChunk;
import dev.cai.protocol.v1.Prompt;
import dev.cai.protocol.v1.ResponsePair;
import dev.cai.protocol.v1.Rollout;
import dev.cai.protocol.v1.SlExample;
import dev.cai.protocol.v1.SourceOffset;

/** One codec per record type of schema v1. */
public final class Codecs {
  /** Schema version written by this build; stores refuse data written by a newer one. */
  public static final int SCHEMA_VERSION = 1;

  public static final Codec<Prompt> PROMPT = Codec.of(Prompt.getDefaultInstance());
  public static final Codec<ConstitutionRef> CONSTITUTION_REF = Codec.of(ConstitutionRef.getDefaultInstance());
  public static final Codec<CritiqueRound> CRITIQUE_ROUND = Codec.of(CritiqueRound.getDefaultInstance());
  public static final Codec<SlExample> SL_EXAMPLE = Codec.of(SlExample.getDefaultInstance());
  public static final Codec<ResponsePair> RESPONSE_PAIR = Codec.of(ResponsePair.getDefaultInstance());
  public static final Codec<Comparison> COMPARISON = Codec.of(Comparison.getDefaultInstance());
  public static final Codec<Rollout> ROLLOUT = Codec.of(Rollout.getDefaultInstance());
  public static final Codec<PolicyWeightsChunk> POLICY_WEIGHTS_CHUNK = Codec.of(PolicyWeightsChunk.getDefaultInstance());
  public static final Codec<SourceOffset> SOURCE_OFFSET = Codec.of(SourceOffset.getDefaultInstance());
  public static final Codec<LearnerStateHeader> LEARNER_STATE_HEADER = Codec.of(LearnerStateHeader.getDefaultInstance());
  public static final Codec<MetricsSnapshot> METRICS_SNAPSHOT = Codec.of(MetricsSnapshot.getDefaultInstance());

  private Codecs() {}
}
