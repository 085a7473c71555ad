package dev.cai.runtime.ppo;

import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelWeights;
import java.util.List;
import java.util.Map;

/**
 * The PPO learner (API draft; implementation follows).
 */
public final class PpoLearner implements AutoCloseable {
  private PpoLearner() {}

  /**
   * A learner whose policy starts from {@code policy} (version 0) and whose critic is {@code criticTrunk} plus a
   * value head: {@code value_head.*} or {@code reward_head.*} tensors of {@code criticHead} (copied), or a fresh
   * seeded head when it is empty.
   */
  public static PpoLearner create(ModelWeights policy, ModelWeights criticTrunk, Map<String, HostTensor> criticHead,
      DeviceSetting device, PpoSettings settings, long seed) {
    throw new UnsupportedOperationException("not yet");
  }

  public PpoSettings settings() {
    throw new UnsupportedOperationException("not yet");
  }

  /** Policy version: updates applied since version 0. */
  public long version() {
    throw new UnsupportedOperationException("not yet");
  }

  /** The KL coefficient β the next batch's rewards use. */
  public double klCoef() {
    throw new UnsupportedOperationException("not yet");
  }

  /** One PPO update on a rollout batch; the version goes up by one. Too-stale rollouts are dropped. */
  public UpdateStats update(List<RolloutSample> batch) {
    throw new UnsupportedOperationException("not yet");
  }

  /** A host copy of the current policy weights, labelled with the version. */
  public ModelWeights policyWeights() {
    throw new UnsupportedOperationException("not yet");
  }

  public LearnerSnapshot snapshot() {
    throw new UnsupportedOperationException("not yet");
  }

  public void restore(LearnerSnapshot snapshot) {
    throw new UnsupportedOperationException("not yet");
  }

  @Override
  public void close() {}
}
