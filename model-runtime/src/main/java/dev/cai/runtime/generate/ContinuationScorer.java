package dev.cai.runtime.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.model.LlamaModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Log-probabilities of given continuations after given contexts, for a whole batch in one forward pass:
 * the A/B labeler's log p(" (A)") vs log p(" (B)") and PPO's per-token log π(response | query) at the
 * sampling temperature, log_softmax(logits / T).
 */
public final class ContinuationScorer {
  /** Upper bound on logits materialised at once (rows × positions × vocab floats). */
  private static final long MAX_LOGITS_PER_CHUNK = 16L << 20;

  private final LlamaModel model;
  private final LlamaConfig config;
  private final long attentionBudget;

  public ContinuationScorer(LlamaModel model) {
    this(model, LlamaModel.ATTENTION_SCORE_BUDGET);
  }

  /** A scorer that keeps attention scores within {@code attentionBudget} floats per forward (splitting rows). */
  public ContinuationScorer(LlamaModel model, long attentionBudget) {
    this.model = model;
    this.config = model.config();
    this.attentionBudget = attentionBudget;
  }

  /** Total log p(continuation | context) per pair, at temperature 1. */
  public double[] totalLogProbs(List<int[]> contexts, List<int[]> continuations) {
    List<float[]> perToken = tokenLogProbs(contexts, continuations, 1.0);
    double[] totals = new double[perToken.size()];
    for (int i = 0; i < totals.length; i++) {
      for (float lp : perToken.get(i)) {
        totals[i] += lp;
      }
    }
    return totals;
  }

  /**
   * Per-token log_softmax(logits / temperature) of each continuation token given its context and the
   * continuation tokens before it; contexts must be non-empty, continuations may be empty.
   */
  public List<float[]> tokenLogProbs(List<int[]> contexts, List<int[]> continuations, double temperature) {
    if (contexts.size() != continuations.size()) {
      throw new IllegalArgumentException(contexts.size() + " contexts but " + continuations.size()
          + " continuations");
    }
    if (!(temperature > 0) || Double.isInfinite(temperature)) {
      throw new IllegalArgumentException("temperature must be finite and > 0, got " + temperature);
    }
    int b = contexts.size();
    if (b == 0) {
      return List.of();
    }
    int total = 0;
    int contLen = 0;
    for (int i = 0; i < b; i++) {
      if (contexts.get(i).length == 0) {
        throw new IllegalArgumentException("Context " + i + " is empty: the first continuation token needs one");
      }
      total = Math.max(total, contexts.get(i).length + continuations.get(i).length);
      contLen = Math.max(contLen, continuations.get(i).length);
    }
    if (contLen == 0) {
      List<float[]> empty = new ArrayList<>();
      for (int i = 0; i < b; i++) {
        empty.add(new float[0]);
      }
      return empty;
    }
    // Left-pad context+continuation so every continuation ends at the last position.
    long[] ids = new long[b * total];
    long[] mask = new long[b * total];
    long[] targets = new long[b * contLen];
    int pad = Generator.padId(config);
    for (int i = 0; i < b; i++) {
      int[] ctx = contexts.get(i);
      int[] cont = continuations.get(i);
      int offset = total - ctx.length - cont.length;
      for (int j = 0; j < total; j++) {
        int k = j - offset;
        int id = k < 0 ? pad : k < ctx.length ? ctx[k] : cont[k - ctx.length];
        checkId(id, i);
        ids[i * total + j] = id;
        mask[i * total + j] = k < 0 ? 0 : 1;
      }
      for (int j = 0; j < contLen; j++) {
        targets[i * contLen + j] = ids[i * total + total - contLen + j];
      }
    }
    float[] lp = new float[b * contLen];
    // Rows per forward so that rows × heads × T × T attention scores stay within the model's budget.
    int rowsPerForward = model.chunkWithinBudget((long) total * total, attentionBudget);
    for (int r0 = 0; r0 < b; r0 += rowsPerForward) {
      int r1 = Math.min(b, r0 + rowsPerForward);
      scoreRows(Arrays.copyOfRange(ids, r0 * total, r1 * total), Arrays.copyOfRange(mask, r0 * total, r1 * total),
          Arrays.copyOfRange(targets, r0 * contLen, r1 * contLen), r1 - r0, total, contLen, temperature, lp,
          r0 * contLen);
    }
    List<float[]> out = new ArrayList<>(b);
    for (int i = 0; i < b; i++) {
      int n = continuations.get(i).length;
      float[] row = new float[n];
      System.arraycopy(lp, i * contLen + contLen - n, row, 0, n);
      out.add(row);
    }
    return out;
  }

  /** Forward of {@code rows} padded sequences; writes their [rows, contLen] target log-probs into {@code out}. */
  private void scoreRows(long[] ids, long[] mask, long[] targets, int rows, int total, int contLen,
      double temperature, float[] out, int outOffset) {
    try (NDManager m = model.manager().newSubManager()) {
      NDArray hidden = model.inferenceHidden(m.create(ids, new Shape(rows, total)),
          m.create(mask, new Shape(rows, total)));
      // Position t predicts token t + 1: the last contLen targets are predicted by positions [T-1-L, T-1).
      NDArray predicting = hidden.get(new NDIndex(":, {}:{}, :", total - 1 - contLen, total - 1));
      NDArray targetArr = m.create(targets, new Shape(rows, contLen, 1));
      int rowsPerChunk = (int) Math.max(1, MAX_LOGITS_PER_CHUNK / ((long) contLen * config.vocabSize()));
      for (int r = 0; r < rows; r += rowsPerChunk) {
        int end = Math.min(rows, r + rowsPerChunk);
        try (NDManager chunk = m.newSubManager()) {
          NDArray h = predicting.get(chunk, new NDIndex("{}:{}", r, end));
          NDArray logits = model.inferenceLogits(h);
          NDArray scaled = temperature == 1.0 ? logits : logits.div((float) temperature);
          NDArray picked = scaled.logSoftmax(-1).gather(targetArr.get(chunk, new NDIndex("{}:{}", r, end)), 2);
          System.arraycopy(picked.toFloatArray(), 0, out, outOffset + r * contLen, (end - r) * contLen);
        }
      }
    }
  }

  private void checkId(int id, int row) {
    if (id < 0 || id >= config.vocabSize()) {
      throw new IllegalArgumentException("Sequence " + row + " has token id " + id + " outside [0, "
          + config.vocabSize() + ")");
    }
  }
}
