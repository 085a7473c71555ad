package dev.cai.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * One micro-batch of padded token rows in host memory, row-major [batchSize, seqLen]: token ids, the attention
 * mask (1 = real token, 0 = padding) and the loss mask (1 = a response token the loss learns; 0 for prompt and
 * padding).
 */
public record TokenBatch(int batchSize, int seqLen, int[] inputIds, int[] attentionMask, int[] lossMask) {
  public TokenBatch {
    if (batchSize <= 0 || seqLen < 2) {
      throw new IllegalArgumentException("Need batchSize > 0 and seqLen >= 2, got " + batchSize + " × " + seqLen);
    }
    int n = Math.multiplyExact(batchSize, seqLen);
    if (inputIds.length != n || attentionMask.length != n || lossMask.length != n) {
      throw new IllegalArgumentException("Arrays must hold " + batchSize + " × " + seqLen + " = " + n
          + " entries, got " + inputIds.length + ", " + attentionMask.length + ", " + lossMask.length);
    }
    for (int i = 0; i < n; i++) {
      if ((attentionMask[i] | 1) != 1 || (lossMask[i] | 1) != 1) {
        throw new IllegalArgumentException("Masks must be 0 or 1, row " + i / seqLen + " position " + i % seqLen);
      }
      if (lossMask[i] == 1 && attentionMask[i] == 0) {
        throw new IllegalArgumentException("Loss mask covers a padding position: row " + i / seqLen
            + " position " + i % seqLen);
      }
      if (inputIds[i] < 0) {
        throw new IllegalArgumentException("Negative token id " + inputIds[i] + " at row " + i / seqLen);
      }
    }
  }

  /** Targets the causal-LM loss counts (see {@link CausalLmLoss#targetCount}). */
  public long targetCount() {
    return CausalLmLoss.targetCount(lossMask, batchSize, seqLen);
  }

  public NDArray inputIds(NDManager m) {
    return m.create(inputIds, new Shape(batchSize, seqLen));
  }

  public NDArray attentionMask(NDManager m) {
    return m.create(attentionMask, new Shape(batchSize, seqLen));
  }

  public NDArray lossMask(NDManager m) {
    return m.create(lossMask, new Shape(batchSize, seqLen));
  }
}
