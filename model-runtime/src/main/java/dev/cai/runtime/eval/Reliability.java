package dev.cai.runtime.eval;

import java.util.ArrayList;
import java.util.List;

/**
 * A reliability table (calibration) being filled: predicted probabilities, each with whether the prediction was right,
 * counted in equal bins over [0, 1] (Guo et al. 2017, "On Calibration of Modern Neural Networks", §2,
 * https://arxiv.org/abs/1706.04599). The one home of the binning used by {@link McEval} and {@link PairEval}.
 */
public final class Reliability {
  private final int[] count;
  private final double[] predicted;
  private final int[] hits;

  /** An empty table of {@code bins} equal bins over [0, 1]. */
  public Reliability(int bins) {
    if (bins < 1) {
      throw new IllegalArgumentException("a reliability table needs at least 1 bin, got " + bins);
    }
    count = new int[bins];
    predicted = new double[bins];
    hits = new int[bins];
  }

  /** Counts one prediction {@code p} in [0, 1] (1 goes into the last bin) and whether it was correct. */
  public void add(double p, boolean correct) {
    if (!(p >= 0 && p <= 1)) {
      throw new IllegalArgumentException("a predicted probability must be in [0, 1], got " + p);
    }
    int bins = count.length;
    int b = Math.min(bins - 1, (int) (p * bins));
    count[b]++;
    predicted[b] += p;
    hits[b] += correct ? 1 : 0;
  }

  /** The bins [b/bins, (b+1)/bins): count, mean predicted p and fraction correct (both NaN when the bin is empty). */
  public List<McEval.Bin> table() {
    int bins = count.length;
    List<McEval.Bin> table = new ArrayList<>(bins);
    for (int b = 0; b < bins; b++) {
      table.add(new McEval.Bin((double) b / bins, (double) (b + 1) / bins, count[b],
          count[b] == 0 ? Double.NaN : predicted[b] / count[b], count[b] == 0 ? Double.NaN : (double) hits[b] / count[b]));
    }
    return table;
  }
}
