package dev.cai.runtime.ppo;

/**
 * Settings of the PPO learner (defaults follow lm-human-preferences and "The N+ Implementation Details of RLHF with
 * PPO"; see {@link #defaults()}).
 *
 * @param epochs passes over each rollout batch
 * @param minibatchSize rollouts per optimizer step
 * @param microBatchSize rollouts per forward/backward (gradient accumulation inside a minibatch)
 * @param lr policy learning rate (constant)
 * @param criticLr value-model learning rate (constant)
 * @param maxGradNorm global gradient-norm clip per model (≤ 0 disables)
 * @param clipRange ε of the clipped surrogate
 * @param clipRangeValue ε of the clipped value loss
 * @param vfCoef weight of the value loss
 * @param entCoef entropy bonus (0 = none)
 * @param gamma GAE discount
 * @param lambda GAE λ
 * @param whitenRewards whiten per-token rewards over the batch (keeping their mean) before GAE
 * @param temperature sampling temperature; log-probs are log_softmax(logits / T)
 * @param klEstimator per-token KL estimator of the reward
 * @param missingEosPenalty added to the score of a response cut off without EOS (≤ 0)
 * @param initKlCoef β at the start
 * @param adaptiveKl adapt β towards {@code targetKl}
 * @param targetKl target KL per response (adaptive β)
 * @param klHorizon horizon in rollouts (adaptive β)
 * @param maxStaleness rollouts sampled more than this many policy versions ago are dropped
 * @param isCap cap of the truncated importance weight π_learner/π_behaviour applied to stale rollouts' advantages
 */
public record PpoSettings(int epochs, int minibatchSize, int microBatchSize, double lr, double criticLr,
    double maxGradNorm, double clipRange, double clipRangeValue, double vfCoef, double entCoef, double gamma,
    double lambda, boolean whitenRewards, double temperature, Rewards.KlEstimator klEstimator,
    double missingEosPenalty, double initKlCoef, boolean adaptiveKl, double targetKl, double klHorizon,
    int maxStaleness, double isCap) {

  public PpoSettings {
    require(epochs >= 1 && minibatchSize >= 1 && microBatchSize >= 1, "epochs, minibatch-size and micro-batch-size must be >= 1");
    require(lr > 0 && criticLr > 0 && Double.isFinite(lr) && Double.isFinite(criticLr), "lr and critic-lr must be > 0");
    require(clipRange > 0 && clipRangeValue > 0, "clip-range and clip-range-value must be > 0");
    require(vfCoef > 0 && entCoef >= 0, "vf-coef must be > 0 and ent-coef >= 0");
    require(gamma >= 0 && gamma <= 1 && lambda >= 0 && lambda <= 1, "gamma and lambda must be in [0, 1]");
    require(temperature > 0 && Double.isFinite(temperature), "temperature must be > 0 (PPO samples)");
    require(klEstimator != null, "kl-estimator is required");
    require(missingEosPenalty <= 0, "missing-eos-penalty must be <= 0");
    require(initKlCoef >= 0 && Double.isFinite(initKlCoef), "init-kl-coef must be >= 0");
    require(!adaptiveKl || (targetKl > 0 && klHorizon > 0), "adaptive KL needs target-kl > 0 and kl-horizon > 0");
    require(maxStaleness >= 0, "max-staleness must be >= 0");
    require(isCap >= 1, "is-cap must be >= 1");
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException("PPO settings: " + message);
    }
  }

  /** 4 epochs of minibatches of 4, lr 1e-5, ε 0.2, vf 0.1, γ 1, λ 0.95, T 0.7, k1, fixed β 0.05, staleness ≤ 1. */
  public static PpoSettings defaults() {
    return new PpoSettings(4, 4, 4, 1e-5, 1e-5, 1.0, 0.2, 0.2, 0.1, 0.0, 1.0, 0.95, false, 0.7,
        Rewards.KlEstimator.K1, -1.0, 0.05, false, 6.0, 10_000, 1, 2.0);
  }

  /** The β controller these settings start with. */
  public KlController klController() {
    return adaptiveKl ? KlController.adaptive(initKlCoef, targetKl, klHorizon) : KlController.fixed(initKlCoef);
  }
}
