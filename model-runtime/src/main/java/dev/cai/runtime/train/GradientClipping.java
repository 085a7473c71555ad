package dev.cai.runtime.train;

import ai.djl.ndarray.NDArray;
import java.util.Collection;

/**
 * Clipping by global L2 norm (Pascanu et al. 2013, https://arxiv.org/abs/1211.5063), computed like
 * {@code torch.nn.utils.clip_grad_norm_}: all gradients are scaled by {@code maxNorm / (‖g‖ + 1e-6)} when
 * that is below 1.
 */
public final class GradientClipping {
  /** Added to the norm before dividing, as torch does. */
  public static final double EPS = 1e-6;

  private GradientClipping() {}

  /** ‖g‖ = √(Σᵢ ‖gᵢ‖²) from per-tensor squared norms. */
  public static double globalNorm(double[] squaredNorms) {
    double sum = 0;
    for (double s : squaredNorms) {
      sum += s;
    }
    return Math.sqrt(sum);
  }

  /** The factor gradients are multiplied by: min(1, maxNorm / (‖g‖ + ε)). */
  public static double clipCoefficient(double totalNorm, double maxNorm) {
    return Math.min(1.0, maxNorm / (totalNorm + EPS));
  }

  /** Squared L2 norm of one gradient, accumulated in float32 by the engine and returned as a double. */
  public static double squaredNorm(NDArray grad) {
    try (NDArray sq = grad.square(); NDArray sum = sq.sum()) {
      return sum.getFloat();
    }
  }

  /**
   * Scales {@code grads} in place so their global norm is at most {@code maxNorm} and returns the norm before
   * clipping (may be NaN or infinite: callers decide whether to skip the step). {@code maxNorm} ≤ 0 or infinite
   * disables clipping but still reports the norm.
   */
  public static double clipInPlace(Collection<NDArray> grads, double maxNorm) {
    double[] sq = new double[grads.size()];
    int i = 0;
    for (NDArray g : grads) {
      sq[i++] = squaredNorm(g);
    }
    double norm = globalNorm(sq);
    if (maxNorm > 0 && !Double.isInfinite(maxNorm) && Double.isFinite(norm)) {
      double coef = clipCoefficient(norm, maxNorm);
      if (coef < 1.0) {
        for (NDArray g : grads) {
          g.muli((float) coef);
        }
      }
    }
    return norm;
  }
}
