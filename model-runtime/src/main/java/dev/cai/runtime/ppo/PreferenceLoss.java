package dev.cai.runtime.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;

/**
 * The preference-model loss on soft labels (Bai et al. 2022, arXiv:2212.08073, §4.1): the cross-entropy
 * of the Bradley–Terry model against p = P(A preferred),
 * {@code L = −[p·log σ(r_A − r_B) + (1 − p)·log σ(r_B − r_A)]}, averaged over the batch. With p = 1 it is
 * the usual loss on hard human comparisons.
 */
public final class PreferenceLoss {
  private PreferenceLoss() {}

  /** Batch mean of the loss; {@code rA}, {@code rB}, {@code pA} of shape [B]. log σ(x) = −softplus(−x). */
  public static NDArray softBradleyTerry(NDArray rA, NDArray rB, NDArray pA) {
    NDArray margin = rA.sub(rB);
    NDArray logSigmoidAB = Activation.softPlus(margin.neg()).neg(); // log σ(r_A − r_B)
    NDArray logSigmoidBA = Activation.softPlus(margin).neg();       // log σ(r_B − r_A)
    NDArray oneMinusP = pA.neg().add(1.0f);
    return pA.mul(logSigmoidAB).add(oneMinusP.mul(logSigmoidBA)).neg().mean();
  }

  /** The same loss for one comparison, in doubles (the reference the array version is tested against). */
  public static double softBradleyTerry(double rA, double rB, double pA) {
    return -(pA * logSigmoid(rA - rB) + (1 - pA) * logSigmoid(rB - rA));
  }

  /** log σ(x), stable for large |x|. */
  static double logSigmoid(double x) {
    return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
  }
}
