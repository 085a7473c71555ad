package dev.cai.runtime.ppo;

/**
 * AI-feedback soft labels (Bai et al. 2022, arXiv:2212.08073, §4.1): the feedback model's
 * log-probabilities of " (A)" and " (B)" normalised to P(A), position-bias correction by scoring both
 * orders, ensembling over principles, and clamping of over-confident chain-of-thought labels.
 */
public final class SoftLabels {
  private SoftLabels() {}

  /** P(A) = exp(log p_A) / (exp(log p_A) + exp(log p_B)) = σ(log p_A − log p_B). */
  public static double normalize(double logProbA, double logProbB) {
    if (Double.isNaN(logProbA) || Double.isNaN(logProbB)) {
      throw new IllegalArgumentException("log-probabilities must not be NaN: " + logProbA + ", " + logProbB);
    }
    if (logProbA == Double.NEGATIVE_INFINITY && logProbB == Double.NEGATIVE_INFINITY) {
      return 0.5; // neither option is possible: no preference
    }
    return Math.exp(PreferenceLoss.logSigmoid(logProbA - logProbB));
  }

  /**
   * Position-bias correction: {@code pAForward} is P(A) with the options in order (A = response A);
   * {@code pASwapped} is P(A) with the options swapped (A = response B), so response A won with
   * probability 1 − pASwapped there. The label is the mean of the two.
   */
  public static double debias(double pAForward, double pASwapped) {
    return 0.5 * (pAForward + (1.0 - pASwapped));
  }

  /** Mean of the labels of several principles (principle ensembling). */
  public static double ensemble(double[] labels) {
    if (labels.length == 0) {
      throw new IllegalArgumentException("ensemble needs at least one label");
    }
    double sum = 0;
    for (double p : labels) {
      sum += p;
    }
    return sum / labels.length;
  }

  /** Clamps a chain-of-thought label into [lo, hi] (the paper uses [0.4, 0.6]). */
  public static double clamp(double p, double lo, double hi) {
    if (!(0 <= lo && lo <= 0.5 && 0.5 <= hi && hi <= 1)) {
      throw new IllegalArgumentException("clamp bounds must satisfy 0 <= lo <= 0.5 <= hi <= 1, got " + lo + ", " + hi);
    }
    return Math.max(lo, Math.min(hi, p));
  }
}
