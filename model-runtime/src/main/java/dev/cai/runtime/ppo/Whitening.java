package dev.cai.runtime.ppo;

/**
 * Whitening over every token of a batch of variable-length sequences: (x − mean)/sqrt(var + ε) with the
 * population variance, as in lm-human-preferences; optionally keeping the mean (for rewards).
 */
public final class Whitening {
  public static final double EPS = 1e-8;

  private Whitening() {}

  /** Whitened copies of {@code batch}; with {@code shiftMean == false} the mean is added back. */
  public static float[][] whiten(float[][] batch, boolean shiftMean) {
    long n = 0;
    double sum = 0;
    for (float[] seq : batch) {
      for (float v : seq) {
        sum += v;
        n++;
      }
    }
    if (n == 0) {
      throw new IllegalArgumentException("Cannot whiten an empty batch");
    }
    double mean = sum / n;
    double sq = 0;
    for (float[] seq : batch) {
      for (float v : seq) {
        sq += (v - mean) * (v - mean);
      }
    }
    double invStd = 1.0 / Math.sqrt(sq / n + EPS); // population variance
    float[][] out = new float[batch.length][];
    for (int i = 0; i < batch.length; i++) {
      out[i] = new float[batch[i].length];
      for (int t = 0; t < out[i].length; t++) {
        double w = (batch[i][t] - mean) * invStd;
        out[i][t] = (float) (shiftMean ? w : w + mean);
      }
    }
    return out;
  }
}
