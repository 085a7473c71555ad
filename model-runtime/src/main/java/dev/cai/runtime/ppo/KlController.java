package dev.cai.runtime.ppo;

/**
 * The KL coefficient β: fixed, or adaptive as in Ziegler et al. 2019 (arXiv:1909.08593, §2.2):
 * e = clip(KL/target − 1, −0.2, 0.2); β ← β·(1 + e·n/horizon) after n more samples.
 *
 * @param klCoef current β
 * @param targetKl target KL per response (ignored when fixed)
 * @param horizon samples over which β adapts (ignored when fixed)
 * @param adaptive whether β adapts
 */
public record KlController(double klCoef, double targetKl, double horizon, boolean adaptive) {
  public KlController {
    if (!(klCoef >= 0) || Double.isInfinite(klCoef)) {
      throw new IllegalArgumentException("klCoef must be finite and >= 0, got " + klCoef);
    }
    if (adaptive && (!(targetKl > 0) || !(horizon > 0))) {
      throw new IllegalArgumentException("adaptive KL needs targetKl > 0 and horizon > 0, got " + targetKl + ", " + horizon);
    }
  }

  public static KlController fixed(double klCoef) {
    return new KlController(klCoef, 0, 0, false);
  }

  public static KlController adaptive(double initKlCoef, double targetKl, double horizon) {
    return new KlController(initKlCoef, targetKl, horizon, true);
  }

  /** The controller after observing mean KL {@code currentKl} over {@code samples} more samples. */
  public KlController update(double currentKl, long samples) {
    if (!adaptive) {
      return this;
    }
    double error = Math.max(-0.2, Math.min(0.2, currentKl / targetKl - 1.0));
    return new KlController(klCoef * (1.0 + error * samples / horizon), targetKl, horizon, true);
  }
}
