package dev.cai.runtime.eval;

import dev.cai.runtime.ppo.PreferenceLoss;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Bradley–Terry ratings on the Elo scale from soft pairwise comparisons, with bootstrap confidence intervals: the
 * harmlessness and helpfulness Elo of model snapshots in Bai et al. 2022, "Constitutional AI" (arXiv:2212.08073,
 * Fig. 2 and 3; only differences are meaningful), as in the Elo analysis of Bai et al. 2022, "Training a Helpful and
 * Harmless Assistant with RLHF" (arXiv:2204.05862).
 *
 * <p>Comparison k = (i, j, p) says player i beats player j with probability p: a soft outcome that counts p wins
 * for i and 1 − p for j. The log-strengths s maximise the soft Bradley–Terry log-likelihood with a tiny Gaussian
 * (L2) prior, which keeps the optimum unique and finite when a player wins everything and fixes the gauge at
 * mean(s) = 0:
 * <pre>
 *   F(s) = Σ_k [p_k·log σ(s_i − s_j) + (1 − p_k)·log σ(s_j − s_i)] − (l2 / 2)·|s|²
 * </pre>
 * F is concave; Newton's method with backtracking (Armijo) finds its maximum. Elo = {@link #ELO_PER_NAT}·s, so a
 * player 200 Elo above another beats it with probability 1 / (1 + 10^(−200/400)) ≈ 0.76. Ratings are reported with
 * mean 0 ({@link #MEAN_ZERO}) or relative to an anchor player whose Elo is 0 (then a confidence interval is the
 * interval of the difference to the anchor, and the anchor's is [0, 0]). Confidence intervals are percentile
 * bootstrap intervals: each replicate draws n comparisons with replacement ({@link SplittableRandom}, one seeded
 * generator for all replicates in order) and refits; the bounds are the 2.5 and 97.5 percentiles
 * ({@link ScoreSummary#quantile}). The reference implementation is {@code tools/elo_reference.py}.
 */
public final class Elo {
  /** Elo points per natural-log unit of strength: 400 / ln 10 ≈ 173.7. */
  public static final double ELO_PER_NAT = 400 / Math.log(10);
  /** Anchor value meaning "report ratings with mean 0". */
  public static final int MEAN_ZERO = -1;
  /** Default precision of the L2 prior on log-strengths (prior std ≈ 31.6 nats: negligible unless a player sweeps). */
  public static final double DEFAULT_L2 = 1e-3;
  /** Default number of bootstrap replicates. */
  public static final int DEFAULT_BOOTSTRAP = 1000;

  private static final int MAX_ITERATIONS = 200;
  /** Newton decrement g·Δ below which the fit has converged (the objective's change is far below its rounding). */
  private static final double CONVERGED = 1e-24;
  /** Newton decrement above which a step is checked by backtracking; below it full steps are taken. */
  private static final double LINE_SEARCH_ABOVE = 1e-10;

  private Elo() {}

  /** Player {@code i} beat player {@code j} with probability {@code p} (soft outcome). */
  public record Comparison(int i, int j, double p) {
    public Comparison {
      if (i < 0 || j < 0 || i == j) {
        throw new IllegalArgumentException("a comparison needs two different players >= 0, got " + i + " and " + j);
      }
      if (!(p >= 0 && p <= 1)) {
        throw new IllegalArgumentException("comparison " + i + " vs " + j + ": p must be in [0, 1], got " + p);
      }
    }
  }

  /**
   * How ratings are fitted and reported.
   *
   * @param l2 precision of the Gaussian prior on log-strengths (> 0)
   * @param bootstrap replicates for the confidence intervals (>= 1)
   * @param seed seed of the bootstrap's {@link SplittableRandom}
   * @param anchor the player whose Elo is 0, or {@link #MEAN_ZERO}
   */
  public record Settings(double l2, int bootstrap, long seed, int anchor) {
    public Settings {
      if (!(l2 > 0) || Double.isInfinite(l2)) {
        throw new IllegalArgumentException("l2 must be finite and > 0, got " + l2);
      }
      if (bootstrap < 1) {
        throw new IllegalArgumentException("bootstrap replicates must be >= 1, got " + bootstrap);
      }
      if (anchor < MEAN_ZERO) {
        throw new IllegalArgumentException("anchor must be a player index or MEAN_ZERO (-1), got " + anchor);
      }
    }

    /** Default prior and bootstrap size, anchored to player 0. */
    public static Settings anchoredToFirst(long seed) {
      return new Settings(DEFAULT_L2, DEFAULT_BOOTSTRAP, seed, 0);
    }
  }

  /** One player's rating: Elo, its 95% bootstrap interval [lo, hi], and how many comparisons it took part in. */
  public record Rating(double elo, double lo, double hi, int comparisons) {}

  /** Ratings of {@code players} players (indices 0..players-1) with bootstrap intervals. */
  public static List<Rating> rate(int players, List<Comparison> comparisons, Settings settings) {
    check(players, comparisons);
    if (comparisons.isEmpty()) {
      throw new IllegalArgumentException("no comparisons to rate " + players + " players from");
    }
    if (settings.anchor() >= players) {
      throw new IllegalArgumentException("anchor " + settings.anchor() + " is not one of the " + players + " players");
    }
    double[] elo = toElo(fit(players, comparisons, settings.l2()), settings.anchor());
    double[][] replicates = new double[players][settings.bootstrap()];
    SplittableRandom rng = new SplittableRandom(settings.seed());
    int n = comparisons.size();
    List<Comparison> sample = new ArrayList<>(n);
    for (int b = 0; b < settings.bootstrap(); b++) {
      sample.clear();
      for (int k = 0; k < n; k++) {
        sample.add(comparisons.get(rng.nextInt(n)));
      }
      double[] e = toElo(fit(players, sample, settings.l2()), settings.anchor());
      for (int i = 0; i < players; i++) {
        replicates[i][b] = e[i];
      }
    }
    int[] counts = new int[players];
    for (Comparison c : comparisons) {
      counts[c.i()]++;
      counts[c.j()]++;
    }
    List<Rating> out = new ArrayList<>();
    for (int i = 0; i < players; i++) {
      double[] r = replicates[i];
      Arrays.sort(r);
      out.add(new Rating(elo[i], ScoreSummary.quantile(r, 0.025), ScoreSummary.quantile(r, 0.975), counts[i]));
    }
    return out;
  }

  /** The maximum a-posteriori log-strengths (natural-log units, mean 0) of {@code players} players. */
  public static double[] fit(int players, List<Comparison> comparisons, double l2) {
    check(players, comparisons);
    double[] s = new double[players];
    for (int iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
      // gradient g = ∂F/∂s and the negated Hessian A = Σ_k w_k (e_i − e_j)(e_i − e_j)ᵀ + l2·I, w_k = σ(1 − σ)
      double[] g = new double[players];
      double[][] a = new double[players][players];
      for (int i = 0; i < players; i++) {
        g[i] = -l2 * s[i];
        a[i][i] = l2;
      }
      for (Comparison c : comparisons) {
        double q = sigmoid(s[c.i()] - s[c.j()]);
        g[c.i()] += c.p() - q;
        g[c.j()] -= c.p() - q;
        double w = q * (1 - q);
        a[c.i()][c.i()] += w;
        a[c.j()][c.j()] += w;
        a[c.i()][c.j()] -= w;
        a[c.j()][c.i()] -= w;
      }
      double[] step = solveSpd(a, g);
      double decrement = dot(g, step);
      if (decrement < CONVERGED) {
        return s;
      }
      double t = 1;
      if (decrement > LINE_SEARCH_ABOVE) {
        double f0 = objective(s, comparisons, l2);
        while (objective(plus(s, t, step), comparisons, l2) < f0 + 1e-4 * t * decrement) {
          t /= 2;
          if (t < 1e-20) {
            throw new IllegalStateException("Elo fit: no ascent along the Newton direction (non-finite objective?)");
          }
        }
      }
      s = plus(s, t, step);
    }
    throw new IllegalStateException("Elo fit did not converge in " + MAX_ITERATIONS + " Newton steps");
  }

  /** Elo = {@link #ELO_PER_NAT}·(s − s_anchor), or relative to the mean of s for {@link #MEAN_ZERO}. */
  public static double[] toElo(double[] strengths, int anchor) {
    double base = 0;
    if (anchor == MEAN_ZERO) {
      for (double x : strengths) {
        base += x / strengths.length;
      }
    } else {
      base = strengths[anchor];
    }
    double[] elo = new double[strengths.length];
    for (int i = 0; i < elo.length; i++) {
      elo[i] = ELO_PER_NAT * (strengths[i] - base);
    }
    return elo;
  }

  /** P(a player beats one {@code eloDifference} below it) = 1 / (1 + 10^(−Δ/400)). */
  public static double winProbability(double eloDifference) {
    return sigmoid(eloDifference / ELO_PER_NAT);
  }

  /** F(s): the soft Bradley–Terry log-likelihood (the negated {@link PreferenceLoss}) minus the L2 prior. */
  static double objective(double[] s, List<Comparison> comparisons, double l2) {
    double f = 0;
    for (Comparison c : comparisons) {
      f -= PreferenceLoss.softBradleyTerry(s[c.i()], s[c.j()], c.p());
    }
    return f - 0.5 * l2 * dot(s, s);
  }

  private static void check(int players, List<Comparison> comparisons) {
    if (players < 1) {
      throw new IllegalArgumentException("need at least one player, got " + players);
    }
    for (Comparison c : comparisons) {
      if (c.i() >= players || c.j() >= players) {
        throw new IllegalArgumentException("comparison " + c.i() + " vs " + c.j() + " names a player outside 0.."
            + (players - 1));
      }
    }
  }

  private static double sigmoid(double x) {
    return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
  }

  /** Solves A·x = b for a symmetric positive definite A (Cholesky, A = L·Lᵀ). */
  private static double[] solveSpd(double[][] a, double[] b) {
    int n = b.length;
    double[][] l = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j <= i; j++) {
        double sum = a[i][j];
        for (int k = 0; k < j; k++) {
          sum -= l[i][k] * l[j][k];
        }
        l[i][j] = i == j ? Math.sqrt(sum) : sum / l[j][j];
      }
    }
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {          // L·y = b
      double sum = b[i];
      for (int k = 0; k < i; k++) {
        sum -= l[i][k] * y[k];
      }
      y[i] = sum / l[i][i];
    }
    double[] x = new double[n];
    for (int i = n - 1; i >= 0; i--) {     // Lᵀ·x = y
      double sum = y[i];
      for (int k = i + 1; k < n; k++) {
        sum -= l[k][i] * x[k];
      }
      x[i] = sum / l[i][i];
    }
    return x;
  }

  private static double[] plus(double[] s, double t, double[] step) {
    double[] out = new double[s.length];
    for (int i = 0; i < s.length; i++) {
      out[i] = s[i] + t * step[i];
    }
    return out;
  }

  private static double dot(double[] x, double[] y) {
    double sum = 0;
    for (int i = 0; i < x.length; i++) {
      sum += x[i] * y[i];
    }
    return sum;
  }
}
