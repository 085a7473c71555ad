package dev.cai.streams;

import com.typesafe.config.Config;
import dev.cai.runtime.ppo.PpoSettings;
import dev.cai.runtime.ppo.Rewards;
import java.time.Duration;
import java.util.Locale;

/**
 * Settings of an online RL-CAI run (HOCON block {@code cai.rl}): the PPO learner's settings plus the rollout
 * pipeline's.
 *
 * @param ppo the learner's settings; {@code ppo.maxStaleness()} is the pipeline's lag (0 or 1) and
 *     {@code ppo.temperature()} the sampling temperature
 * @param batchSize prompts per rollout batch (one update each)
 * @param maxNewTokens longest sampled response
 * @param seed sampling seeds, minibatch order, fresh value head
 * @param commitEvery updates between learner commits
 * @param criticInit where the critic starts
 * @param policyActors policy actors that share each batch
 * @param askTimeout longest wait for one model call or weight load
 */
public record RlSettings(PpoSettings ppo, int batchSize, int maxNewTokens, long seed, int commitEvery,
    CriticInit criticInit, int policyActors, Duration askTimeout, int promptPasses) {

  /** Where the critic (value model) starts. */
  public enum CriticInit {
    /** The preference model's trunk, its reward head becoming the value head. */
    PM,
    /** The policy's trunk with a fresh seeded value head. */
    POLICY
  }

  public RlSettings {
    require(ppo.maxStaleness() <= 1, "max-staleness must be 0 or 1, got " + ppo.maxStaleness());
    require(batchSize >= 1, "batch-size must be >= 1, got " + batchSize);
    require(promptPasses >= 0, "prompt-passes must be >= 0 (0 = cycle until the last update), got " + promptPasses);
    require(maxNewTokens >= 1, "max-new-tokens must be >= 1, got " + maxNewTokens);
    require(commitEvery >= 1, "commit-every must be >= 1, got " + commitEvery);
    require(policyActors >= 1, "policy-actors must be >= 1, got " + policyActors);
    require(criticInit != null, "critic-init is required");
    require(askTimeout.compareTo(Duration.ZERO) > 0, "ask-timeout must be > 0");
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException("cai.rl: " + message);
    }
  }

  /** Reads a block shaped like {@code cai.rl} in reference.conf; a bad value fails naming its key. */
  public static RlSettings fromConfig(Config c) {
    PpoSettings ppo;
    try {
      ppo = new PpoSettings(c.getInt("epochs"), c.getInt("minibatch-size"), c.getInt("micro-batch-size"),
          c.getDouble("lr"), c.getDouble("critic-lr"), c.getDouble("max-grad-norm"), c.getDouble("clip-range"),
          c.getDouble("clip-range-value"), c.getDouble("vf-coef"), c.getDouble("ent-coef"), c.getDouble("gamma"),
          c.getDouble("lambda"), c.getBoolean("whiten-rewards"), c.getDouble("temperature"),
          enumValue(Rewards.KlEstimator.class, c.getString("kl-estimator"), "kl-estimator"),
          c.getDouble("missing-eos-penalty"), c.getDouble("init-kl-coef"), c.getBoolean("adaptive-kl"),
          c.getDouble("target-kl"), c.getDouble("kl-horizon"), c.getInt("max-staleness"), c.getDouble("is-cap"));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("cai.rl: " + e.getMessage(), e);
    }
    return new RlSettings(ppo, c.getInt("batch-size"), c.getInt("max-new-tokens"), c.getLong("seed"),
        c.getInt("commit-every"), enumValue(CriticInit.class, c.getString("critic-init"), "critic-init"),
        c.getInt("policy-actors"), c.getDuration("ask-timeout"), c.getInt("prompt-passes"));
  }

  /** Lag of the rollout pipeline. */
  public int lag() {
    return ppo.maxStaleness();
  }

  private static <E extends Enum<E>> E enumValue(Class<E> type, String value, String key) {
    try {
      return Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      StringBuilder known = new StringBuilder();
      for (E v : type.getEnumConstants()) {
        known.append(known.length() == 0 ? "" : " | ").append(v.name().toLowerCase(Locale.ROOT));
      }
      throw new IllegalArgumentException("cai.rl." + key + " must be " + known + ", got '" + value + "'");
    }
  }
}
