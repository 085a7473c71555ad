package dev.cai.runtime.train;

/** Slow plain-double twins of the training math, written straight from the formulas, for cross-checks. */
final class ReferenceMath {
  private ReferenceMath() {}

  /** AdamW step t on doubles, updating p, m, v in place (Loshchilov &amp; Hutter 2019, Algorithm 2). */
  static void adamw(double[] p, double[] g, double[] m, double[] v, long t, double lr, double b1, double b2,
      double eps, double wd) {
    for (int i = 0; i < p.length; i++) {
      p[i] -= lr * wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      double mHat = m[i] / (1 - Math.pow(b1, t));
      double vHat = v[i] / (1 - Math.pow(b2, t));
      p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
    }
  }

  /** Σ −log softmax(logits[b, t])[ids[b, t+1]] over targets with lossMask[b, t+1] = 1. */
  static double maskedNllSum(double[] logits, int[] ids, int[] lossMask, int b, int t, int vocab) {
    double sum = 0;
    for (int r = 0; r < b; r++) {
      for (int i = 0; i + 1 < t; i++) {
        if (lossMask[r * t + i + 1] == 0) {
          continue;
        }
        int base = (r * t + i) * vocab;
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < vocab; k++) {
          max = Math.max(max, logits[base + k]);
        }
        double z = 0;
        for (int k = 0; k < vocab; k++) {
          z += Math.exp(logits[base + k] - max);
        }
        sum -= logits[base + ids[r * t + i + 1]] - max - Math.log(z);
      }
    }
    return sum;
  }
}
