package dev.cai.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;

/**
 * Causal language-model loss on response tokens only: position t predicts token t+1, and only targets whose
 * loss mask is 1 (response tokens; never prompt or padding) count. The sum is returned so that callers can
 * normalise by the token count of a whole accumulated batch: mean NLL = Σ −log p(x_{t+1} | x_{≤t}) / #targets.
 */
public final class CausalLmLoss {
  private CausalLmLoss() {}

  /**
   * Σ over counted targets of −log softmax(logits[b, t])[ids[b, t+1]], a differentiable scalar.
   *
   * @param logits [B, T, V] float
   * @param inputIds [B, T] integer ids
   * @param lossMask [B, T], 1 where the token at that position is a target to learn, else 0
   */
  public static NDArray nllSum(NDArray logits, NDArray inputIds, NDArray lossMask) {
    NDArray predicting = logits.get(new NDIndex(":, :-1, :"));
    NDArray targets = inputIds.get(new NDIndex(":, 1:")).toType(DataType.INT64, false).expandDims(2);
    NDArray mask = lossMask.get(new NDIndex(":, 1:")).toType(DataType.FLOAT32, false);
    NDArray logProbs = predicting.logSoftmax(-1); // log p over the vocabulary
    NDArray picked = logProbs.gather(targets, 2).squeeze(2); // log p(x_{t+1} | x_{≤t}), [B, T-1]
    return picked.mul(mask).sum().neg();
  }

  /** The number of targets {@link #nllSum} counts: loss-mask ones after the first position of each row. */
  public static long targetCount(int[] lossMask, int batchSize, int seqLen) {
    long n = 0;
    for (int b = 0; b < batchSize; b++) {
      for (int t = 1; t < seqLen; t++) {
        n += lossMask[b * seqLen + t] != 0 ? 1 : 0;
      }
    }
    return n;
  }
}
