package dev.cai.runtime.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Host-side next-token choice from one row of log-probabilities log_softmax(logits / T): greedy, or
 * temperature sampling with optional top-k then top-p (nucleus, Holtzman et al. 2019,
 * https://arxiv.org/abs/1904.09751) filtering in the Hugging Face order. Pure functions of the row and the
 * RNG, so a seed gives the same choice on any device.
 */
public final class TokenSampler {
  /** Probability thresholds tried, largest first, when gathering the high-probability candidates. */
  private static final double[] CANDIDATE_THRESHOLDS = {1e-4, 1e-6, 1e-9};

  private TokenSampler() {}

  /** The temperature the reported log-probs use: T itself, or 1 for greedy (T = 0). */
  public static double logProbTemperature(double temperature) {
    return temperature == 0 ? 1.0 : temperature;
  }

  /** Index of the largest value in {@code row[off, off + n)}; ties go to the lowest index. */
  public static int argMax(float[] row, int off, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
      if (row[off + i] > row[off + best]) {
        best = i;
      }
    }
    return best;
  }

  /**
   * Draws a token from log-probs {@code logp[off, off + n)} (already at temperature T); {@code topK} 0 and
   * {@code topP} 1 mean no filtering. Exact: candidates are gathered by probability threshold, then the rest
   * of the vocabulary is scanned only when the draw falls outside them.
   */
  public static int sample(float[] logp, int off, int n, int topK, double topP, SplittableRandom rng) {
    boolean filtered = topK > 0 || topP < 1.0;
    int[] sorted = null;
    double[] probs = null;
    for (double t : CANDIDATE_THRESHOLDS) {
      int[] cand = candidates(logp, off, n, Math.log(t));
      double[] p = probsOf(logp, off, cand);
      double mass = sum(p, p.length);
      boolean enough = topK > 0 ? cand.length >= topK : mass >= topP;
      if (enough || !filtered) {
        sorted = cand;
        probs = p;
        break;
      }
    }
    if (sorted == null) { // flat distribution: every token is a candidate
      int[] all = new int[n];
      Arrays.setAll(all, i -> i);
      sorted = sortDescending(logp, off, all);
      probs = probsOf(logp, off, sorted);
    }
    if (!filtered) {
      return drawUnfiltered(logp, off, n, sorted, probs, rng);
    }
    int kept = topK > 0 ? Math.min(topK, sorted.length) : sorted.length;
    double keptMass = sum(probs, kept);
    if (topP < 1.0) { // smallest prefix whose share of the (top-k) mass reaches topP
      double cum = 0;
      int prefix = 0;
      while (prefix < kept) {
        cum += probs[prefix++];
        if (cum >= topP * keptMass) {
          break;
        }
      }
      kept = prefix;
      keptMass = cum;
    }
    double u = rng.nextDouble() * keptMass;
    double cum = 0;
    for (int i = 0; i < kept; i++) {
      cum += probs[i];
      if (u < cum) {
        return sorted[i];
      }
    }
    return sorted[kept - 1];
  }

  /** Inverse-CDF draw over [candidates in order, then every other token in index order]. */
  private static int drawUnfiltered(float[] logp, int off, int n, int[] cand, double[] probs,
      SplittableRandom rng) {
    double u = rng.nextDouble();
    double cum = 0;
    for (int i = 0; i < cand.length; i++) {
      cum += probs[i];
      if (u < cum) {
        return cand[i];
      }
    }
    boolean[] seen = new boolean[n];
    for (int c : cand) {
      seen[c] = true;
    }
    int last = cand.length > 0 ? cand[cand.length - 1] : argMax(logp, off, n);
    for (int i = 0; i < n; i++) {
      if (!seen[i]) {
        cum += Math.exp(logp[off + i]);
        last = i;
        if (u < cum) {
          return i;
        }
      }
    }
    return last; // u beyond the float rounding of the total mass
  }

  /** Tokens with log-prob ≥ {@code logThreshold}, by descending probability (ties: lower id first). */
  private static int[] candidates(float[] logp, int off, int n, double logThreshold) {
    int count = 0;
    int[] buf = new int[64];
    for (int i = 0; i < n; i++) {
      if (logp[off + i] >= logThreshold) {
        if (count == buf.length) {
          buf = Arrays.copyOf(buf, count * 2);
        }
        buf[count++] = i;
      }
    }
    return sortDescending(logp, off, Arrays.copyOf(buf, count));
  }

  private static int[] sortDescending(float[] logp, int off, int[] ids) {
    long[] keys = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      // Order-preserving int image of the float, then the id inverted so equal values put lower ids last.
      int bits = Float.floatToIntBits(logp[off + ids[i]]);
      int ordered = bits >= 0 ? bits : bits ^ 0x7fffffff;
      keys[i] = ((long) ordered << 32) | (0xffffffffL - ids[i]);
    }
    Arrays.sort(keys);
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) (0xffffffffL - (keys[ids.length - 1 - i] & 0xffffffffL));
    }
    return out;
  }

  private static double[] probsOf(float[] logp, int off, int[] ids) {
    double[] p = new double[ids.length];
    for (int i = 0; i < ids.length; i++) {
      p[i] = Math.exp(logp[off + ids[i]]);
    }
    return p;
  }

  private static double sum(double[] p, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      s += p[i];
    }
    return s;
  }
}
