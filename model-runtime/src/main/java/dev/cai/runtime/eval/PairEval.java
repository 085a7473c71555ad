package dev.cai.runtime.eval;

import java.util.List;

/**
 * Preference-model accuracy and calibration on human comparisons: the PM predicts
 * P(chosen ≻ rejected) = σ(r_chosen − r_rejected). Calibration is symmetric: each pair contributes its
 * prediction for the chosen reply (correct) and for the rejected one (1 − p, wrong).
 */
public final class PairEval {
  private PairEval() {}

  /** The evaluation of a set of pairs. */
  public record Report(int pairs, double accuracy, double meanPChosen, List<McEval.Bin> calibration) {}

  public static Report evaluate(double[] rChosen, double[] rRejected, int bins) {
    if (rChosen.length != rRejected.length || rChosen.length == 0) {
      throw new IllegalArgumentException("need the same, non-zero number of chosen and rejected scores");
    }
    int correct = 0;
    double sumP = 0;
    Reliability table = new Reliability(bins);
    for (int i = 0; i < rChosen.length; i++) {
      double p = 1 / (1 + Math.exp(-(rChosen[i] - rRejected[i])));
      correct += rChosen[i] > rRejected[i] ? 1 : 0;
      sumP += p;
      table.add(p, true);
      table.add(1 - p, false);
    }
    return new Report(rChosen.length, (double) correct / rChosen.length, sumP / rChosen.length, table.table());
  }
}
