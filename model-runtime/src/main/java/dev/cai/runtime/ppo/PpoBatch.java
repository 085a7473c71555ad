package dev.cai.runtime.ppo;

import dev.cai.runtime.train.CausalLmLoss;
import dev.cai.runtime.train.TokenBatch;
import java.util.Arrays;
import java.util.List;

/**
 * Rollouts laid out for the learner's forward passes: query+response rows right-padded with the pad id (position
 * ids are cumsum(mask) − 1, so right padding needs no shift), the loss mask on response tokens, and the targets:
 * the positions that predict each response token, rollout by rollout, token by token. Per-token quantities of the
 * micro-batch ({@code oldLogprobs}, {@code advantages}, ...) are flattened in that same order.
 *
 * @param rollouts indices (into the update's batch) of the rollouts in this micro-batch, in row order
 * @param lengths response length of each row
 */
public record PpoBatch(int[] rollouts, int[] lengths, TokenBatch tokens, CausalLmLoss.Targets targets) {

  /** The micro-batch of {@code batch[indices]}. */
  public static PpoBatch of(List<RolloutSample> batch, int[] indices, int padId) {
    int len = 2;
    for (int i : indices) {
      RolloutSample r = batch.get(i);
      len = Math.max(len, r.promptIds().length + r.responseIds().length);
    }
    int[] ids = new int[indices.length * len];
    int[] mask = new int[ids.length];
    int[] loss = new int[ids.length];
    int[] lengths = new int[indices.length];
    Arrays.fill(ids, Math.max(padId, 0));
    for (int row = 0; row < indices.length; row++) {
      RolloutSample r = batch.get(indices[row]);
      int[] seq = r.sequence();
      System.arraycopy(seq, 0, ids, row * len, seq.length);
      Arrays.fill(mask, row * len, row * len + seq.length, 1);
      Arrays.fill(loss, row * len + r.promptIds().length, row * len + seq.length, 1);
      lengths[row] = r.responseIds().length;
    }
    TokenBatch tokens = new TokenBatch(indices.length, len, ids, mask, loss);
    return new PpoBatch(indices.clone(), lengths, tokens, CausalLmLoss.targets(ids, loss, indices.length, len));
  }

  /** Flattens per-rollout arrays ({@code perRollout[rollouts[row]]}) in target order. */
  public float[] flatten(float[][] perRollout) {
    float[] out = new float[targets.count()];
    int k = 0;
    for (int row = 0; row < rollouts.length; row++) {
      float[] v = perRollout[rollouts[row]];
      if (v.length != lengths[row]) {
        throw new IllegalArgumentException("Rollout " + rollouts[row] + " has " + lengths[row] + " response tokens but "
            + v.length + " values");
      }
      System.arraycopy(v, 0, out, k, v.length);
      k += v.length;
    }
    return out;
  }

  /** Splits target-ordered {@code flat} back into per-rollout arrays, stored at {@code into[rollouts[row]]}. */
  public void scatter(float[] flat, float[][] into) {
    int k = 0;
    for (int row = 0; row < rollouts.length; row++) {
      into[rollouts[row]] = Arrays.copyOfRange(flat, k, k + lengths[row]);
      k += lengths[row];
    }
  }
}
