package dev.cai.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Causal language-model loss on response tokens only: position t predicts token t+1, and only targets whose
 * loss mask is 1 (response tokens; never prompt or padding) count. The sum is returned so that callers can
 * normalise by the token count of a whole accumulated batch: mean NLL = Σ −log p(x_{t+1} | x_{≤t}) / #targets.
 * Only the predicting positions are pushed through the LM head, which saves the [B, T, vocab] logits of prompt
 * and padding positions.
 */
public final class CausalLmLoss {
  private CausalLmLoss() {}

  /**
   * The counted targets of a batch: {@code rows} are flattened positions b·T + t that predict a target, and
   * {@code ids} the target tokens x[b, t+1].
   */
  public record Targets(long[] rows, long[] ids) {
    public int count() {
      return rows.length;
    }

    /** Targets {@code from} (inclusive) to {@code to} (exclusive). */
    public Targets slice(int from, int to) {
      return new Targets(java.util.Arrays.copyOfRange(rows, from, to), java.util.Arrays.copyOfRange(ids, from, to));
    }
  }

  /** The targets of row-major [batchSize, seqLen] ids and loss mask (1 = learn this token). */
  public static Targets targets(int[] inputIds, int[] lossMask, int batchSize, int seqLen) {
    int n = (int) targetCount(lossMask, batchSize, seqLen);
    long[] rows = new long[n];
    long[] ids = new long[n];
    int k = 0;
    for (int b = 0; b < batchSize; b++) {
      for (int t = 0; t + 1 < seqLen; t++) {
        int next = b * seqLen + t + 1;
        if (lossMask[next] != 0) {
          rows[k] = (long) b * seqLen + t;
          ids[k++] = inputIds[next];
        }
      }
    }
    return new Targets(rows, ids);
  }

  /** The number of targets: loss-mask ones after the first position of each row. */
  public static long targetCount(int[] lossMask, int batchSize, int seqLen) {
    long n = 0;
    for (int b = 0; b < batchSize; b++) {
      for (int t = 1; t < seqLen; t++) {
        n += lossMask[b * seqLen + t] != 0 ? 1 : 0;
      }
    }
    return n;
  }

  /** The predicting positions of {@code x} [B, T, D] as rows [n, D] (differentiable gather). */
  public static NDArray selectRows(NDArray x, Targets targets) {
    Shape s = x.getShape();
    long d = s.get(2);
    NDManager m = x.getManager();
    NDArray index = m.create(targets.rows()).reshape(targets.count(), 1).broadcast(new Shape(targets.count(), d));
    return x.reshape(s.get(0) * s.get(1), d).gather(index, 0);
  }

  /** Σᵢ −log softmax(logits[i])[ids[i]] for logits [n, V] of the predicting positions; a differentiable scalar. */
  public static NDArray nllSumOfRows(NDArray logits, Targets targets) {
    NDArray ids = logits.getManager().create(targets.ids()).reshape(targets.count(), 1);
    NDArray logProbs = logits.logSoftmax(-1); // log p over the vocabulary
    return logProbs.gather(ids, 1).sum().neg(); // −Σ log p(x_{t+1} | x_{≤t})
  }

  /**
   * Σ over counted targets of −log softmax(logits[b, t])[ids[b, t+1]], from full logits [B, T, V] and [B, T]
   * ids and loss mask.
   */
  public static NDArray nllSum(NDArray logits, NDArray inputIds, NDArray lossMask) {
    Shape s = inputIds.getShape();
    Targets t = targets(inputIds.toType(DataType.INT32, false).toIntArray(),
        lossMask.toType(DataType.INT32, false).toIntArray(), (int) s.get(0), (int) s.get(1));
    return nllSumOfRows(selectRows(logits, t), t);
  }
}
