package dev.cai.runtime.ppo;

/**
 * Per-token rewards of one response for RLHF/RLAIF (Ziegler et al. 2019, arXiv:1909.08593, eq. 2):
 * {@code r_t = -β·KL_t}, plus the preference-model score on the final token, plus an optional penalty
 * (also on the final token) when the response was cut off without an end-of-sequence token.
 */
public final class Rewards {
  private Rewards() {}

  /** How the per-token KL to the reference policy is estimated from sampled log-probs (Schulman 2020, "Approximating KL"). */
  public enum KlEstimator {
    /** k1 = log π(a) − log π_ref(a): unbiased, can be negative. */
    K1,
    /** k3 = (ρ − 1) − log ρ with ρ = π_ref(a)/π(a): unbiased, never negative, lower variance. */
    K3
  }

  /** KL_t for every token. */
  public static float[] kl(float[] logprobs, float[] refLogprobs, KlEstimator estimator) {
    requireSameLength(logprobs, refLogprobs, "reference log-probs");
    float[] kl = new float[logprobs.length];
    for (int t = 0; t < kl.length; t++) {
      double logRatio = (double) logprobs[t] - refLogprobs[t]; // log π − log π_ref
      kl[t] = (float) switch (estimator) {
        case K1 -> logRatio;
        case K3 -> Math.expm1(-logRatio) + logRatio; // (ρ − 1) − log ρ, ρ = exp(−logRatio)
      };
    }
    return kl;
  }

  /**
   * r_t = −β·KL_t, and on the last token additionally the score and, if the response has no EOS,
   * {@code missingEosPenalty} (a negative number, or 0 to disable).
   */
  public static float[] tokenRewards(float[] logprobs, float[] refLogprobs, double klCoef, KlEstimator estimator,
      double score, boolean endedWithEos, double missingEosPenalty) {
    if (logprobs.length == 0) {
      throw new IllegalArgumentException("A response needs at least one token to carry its score");
    }
    float[] kl = kl(logprobs, refLogprobs, estimator);
    float[] r = new float[kl.length];
    for (int t = 0; t < r.length; t++) {
      r[t] = (float) (-klCoef * kl[t]);
    }
    int last = r.length - 1;
    r[last] = (float) (r[last] + score + (endedWithEos ? 0.0 : missingEosPenalty));
    return r;
  }

  static void requireSameLength(float[] a, float[] b, String what) {
    if (a.length != b.length) {
      throw new IllegalArgumentException("Length mismatch: " + a.length + " tokens but " + b.length + " " + what);
    }
  }
}
