package dev.cai.runtime.ppo;

import dev.cai.runtime.io.Checkpoint;

/**
 * The whole state of a {@link PpoLearner} in host memory: policy version, KL coefficient, the learner's RNG state,
 * and the policy and critic (value model) with their heads, optimizer moments and step counts. Restoring it into a
 * learner built from the same base models continues bit-identically.
 */
public record LearnerSnapshot(long version, double klCoef, long rngState, Checkpoint policy, Checkpoint critic) {
  public LearnerSnapshot {
    check(version, klCoef);
    if (policy.optimizer().isEmpty() || critic.optimizer().isEmpty()) {
      throw new IllegalArgumentException("A learner snapshot needs the optimizer state of policy and critic");
    }
  }

  /** Checks the scalars of a learner state (also of a stored one restored tensor by tensor). */
  static void check(long version, double klCoef) {
    if (version < 0) {
      throw new IllegalArgumentException("Policy version must be >= 0, got " + version);
    }
    if (!(klCoef >= 0) || Double.isInfinite(klCoef)) {
      throw new IllegalArgumentException("KL coefficient must be finite and >= 0, got " + klCoef);
    }
  }
}
