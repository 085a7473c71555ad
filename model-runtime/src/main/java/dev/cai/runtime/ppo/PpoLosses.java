package dev.cai.runtime.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * The PPO objective on DJL arrays of shape [B, T] with a response mask (1 on response tokens, 0 on
 * prompt and padding): the clipped surrogate (Schulman et al. 2017, arXiv:1707.06347, eq. 7), the
 * clipped value loss of lm-human-preferences, and the policy entropy. Differentiable in the current
 * log-probs, values and logits; the "old" inputs are constants from the rollout.
 */
public final class PpoLosses {
  private PpoLosses() {}

  /** Surrogate loss (to minimise) and diagnostics (scalars). */
  public record PolicyLoss(NDArray loss, NDArray clipFraction, NDArray approxKl) {}

  /** Value loss (to minimise) and the share of tokens where the clipped term was used. */
  public record ValueLoss(NDArray loss, NDArray clipFraction) {}

  /**
   * L = mean_t max(−A_t·ρ_t, −A_t·clip(ρ_t, 1−ε, 1+ε)) with ρ_t = exp(log π − log π_old);
   * approx-KL = ½·mean_t (log π − log π_old)².
   */
  public static PolicyLoss policy(NDArray logprobs, NDArray oldLogprobs, NDArray advantages, NDArray mask,
      double clipRange) {
    NDArray logRatio = logprobs.sub(oldLogprobs);
    NDArray ratio = logRatio.exp();
    NDArray unclipped = advantages.neg().mul(ratio);
    NDArray clipped = advantages.neg().mul(ratio.clip(1.0 - clipRange, 1.0 + clipRange));
    NDArray loss = maskedMean(unclipped.maximum(clipped), mask);
    NDArray clipFraction = maskedMean(clipped.gt(unclipped).toType(DataType.FLOAT32, false), mask);
    NDArray approxKl = maskedMean(logRatio.square(), mask).mul(half(logprobs));
    return new PolicyLoss(loss, clipFraction, approxKl);
  }

  /**
   * L_V = ½·mean_t max((V_t − R_t)², (V_old,t + clip(V_t − V_old,t, −ε_v, ε_v) − R_t)²).
   */
  public static ValueLoss value(NDArray values, NDArray oldValues, NDArray returns, NDArray mask, double clipRangeValue) {
    NDArray clippedValues = oldValues.add(values.sub(oldValues).clip(-clipRangeValue, clipRangeValue));
    NDArray unclippedLoss = values.sub(returns).square();
    NDArray clippedLoss = clippedValues.sub(returns).square();
    NDArray loss = maskedMean(unclippedLoss.maximum(clippedLoss), mask).mul(half(values));
    NDArray clipFraction = maskedMean(clippedLoss.gt(unclippedLoss).toType(DataType.FLOAT32, false), mask);
    return new ValueLoss(loss, clipFraction);
  }

  /** Mean over masked tokens of H_t = −Σ_v p_v·log p_v, from logits [B, T, V] (already divided by the temperature). */
  public static NDArray entropy(NDArray logits, NDArray mask) {
    NDArray logp = logits.logSoftmax(-1);
    NDArray h = logp.exp().mul(logp).sum(new int[] {-1}).neg();
    return maskedMean(h, mask);
  }

  /**
   * 0.5 as an array attached to {@code like}'s manager. A Java number operand ({@code mul(0.5f)}) becomes a
   * temporary tensor over a Java buffer that DJL frees right after the op, while autograd keeps it for backward;
   * an attached array lives until its manager closes. (A float, not a double: 0-dim × 0-dim double would
   * promote the loss to float64.)
   */
  static NDArray half(NDArray like) {
    return like.getManager().create(0.5f);
  }

  /** Σ x·mask / Σ mask. */
  public static NDArray maskedMean(NDArray x, NDArray mask) {
    return x.mul(mask).sum().div(mask.sum().maximum(1e-8f));
  }
}
