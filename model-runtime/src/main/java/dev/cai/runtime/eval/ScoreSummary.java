package dev.cai.runtime.eval;

import java.util.Arrays;

/**
 * The distribution of a set of scores (e.g. the PM scores of a snapshot's responses): count, mean, population
 * standard deviation, and the quantiles min, 25%, median, 75%, max.
 */
public record ScoreSummary(int n, double mean, double std, double min, double q25, double median, double q75, double max) {

  /** The summary of {@code values} (non-empty, all finite). */
  public static ScoreSummary of(double[] values) {
    if (values.length == 0) {
      throw new IllegalArgumentException("no scores to summarise");
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    double mean = 0;
    for (double v : sorted) {
      if (!Double.isFinite(v)) {
        throw new IllegalArgumentException("scores must be finite, got " + v);
      }
      mean += v / sorted.length;
    }
    double var = 0;
    for (double v : sorted) {
      var += (v - mean) * (v - mean) / sorted.length;
    }
    return new ScoreSummary(sorted.length, mean, Math.sqrt(var), sorted[0], quantile(sorted, 0.25),
        quantile(sorted, 0.5), quantile(sorted, 0.75), sorted[sorted.length - 1]);
  }

  /**
   * The {@code q} quantile of ascending {@code sorted} values, linearly interpolated between the order statistics
   * at positions ⌊q·(n − 1)⌋ and the next (NumPy's default "linear" method).
   */
  public static double quantile(double[] sorted, double q) {
    if (sorted.length == 0 || !(q >= 0 && q <= 1)) {
      throw new IllegalArgumentException("quantile needs values and q in [0, 1], got " + sorted.length + " values, q " + q);
    }
    double pos = q * (sorted.length - 1);
    int lo = (int) Math.floor(pos);
    int hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
  }
}
