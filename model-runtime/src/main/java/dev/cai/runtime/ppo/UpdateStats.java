package dev.cai.runtime.ppo;

import java.util.Map;

/**
 * Diagnostics of one PPO update (GUIDE §5 item 9), means over the batch's kept rollouts (per-token quantities
 * over response tokens).
 *
 * @param version policy version after the update
 * @param rollouts rollouts learned from
 * @param dropped rollouts dropped as too stale
 * @param staleness learner version − rollout version → count, over every rollout received (kept or dropped)
 * @param meanScore mean preference-model score (before the missing-EOS penalty)
 * @param kl mean per-response KL to the reference, Σ_t KL_t
 * @param nonScoreReward mean per-response Σ_t −β·KL_t
 * @param klCoef β used for this batch's rewards
 * @param approxKl mean ½(log π − log π_old)² over all minibatch steps
 * @param clipFraction share of tokens where the surrogate was clipped
 * @param valueClipFraction share of tokens where the value loss was clipped
 * @param entropy mean per-token policy entropy
 * @param policyLoss mean surrogate loss
 * @param valueLoss mean value loss
 * @param explainedVariance 1 − Var(returns − old values)/Var(returns)
 * @param meanResponseLength mean response tokens
 * @param eosRate share of responses that ended with EOS
 * @param policyGradNorm mean gradient norm of the policy steps (before clipping)
 * @param millis wall time of the update
 */
public record UpdateStats(long version, int rollouts, int dropped, Map<Long, Integer> staleness, double meanScore,
    double kl, double nonScoreReward, double klCoef, double approxKl, double clipFraction, double valueClipFraction,
    double entropy, double policyLoss, double valueLoss, double explainedVariance, double meanResponseLength,
    double eosRate, double policyGradNorm, long millis) {
  public UpdateStats {
    staleness = Map.copyOf(staleness);
  }
}
