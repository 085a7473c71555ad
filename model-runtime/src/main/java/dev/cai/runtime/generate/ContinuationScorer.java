package dev.cai.runtime.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
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
    return tokenScores(contexts, continuations, temperature, 0).stream().map(TokenScores::logProbs).toList();
  }

  /**
   * Like {@link #tokenLogProbs} and, at each continuation position, the {@code topK} likeliest tokens of the
   * same distribution (an OpenAI-style {@code top_logprobs}), likeliest first; {@code topK} 0 gives none.
   */
  public List<TokenScores> tokenScores(List<int[]> contexts, List<int[]> continuations, double temperature, int topK) {
    if (contexts.size() != continuations.size()) {
      throw new IllegalArgumentException(contexts.size() + " contexts but " + continuations.size()
          + " continuations");
    }
    if (!(temperature > 0) || Double.isInfinite(temperature)) {
      throw new IllegalArgumentException("temperature must be finite and > 0, got " + temperature);
    }
    if (topK < 0 || topK > config.vocabSize()) {
      throw new IllegalArgumentException("topK must be in [0, " + config.vocabSize() + "], got " + topK);
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
      List<TokenScores> empty = new ArrayList<>();
      for (int i = 0; i < b; i++) {
        empty.add(new TokenScores(new float[0], new int[0][], new float[0][]));
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
    Scores out = new Scores(new float[b * contLen], new long[b * contLen * topK], new float[b * contLen * topK], topK);
    // Rows per forward so that rows × heads × T × T attention scores stay within the model's budget.
    int rowsPerForward = model.chunkWithinBudget((long) total * total, attentionBudget);
    for (int r0 = 0; r0 < b; r0 += rowsPerForward) {
      int r1 = Math.min(b, r0 + rowsPerForward);
      scoreRows(Arrays.copyOfRange(ids, r0 * total, r1 * total), Arrays.copyOfRange(mask, r0 * total, r1 * total),
          Arrays.copyOfRange(targets, r0 * contLen, r1 * contLen), r1 - r0, total, contLen, temperature, out,
          r0 * contLen);
    }
    List<TokenScores> result = new ArrayList<>(b);
    for (int i = 0; i < b; i++) {
      int n = continuations.get(i).length;
      int first = i * contLen + contLen - n; // the row's last n positions hold its continuation
      float[] row = Arrays.copyOfRange(out.logProbs, first, first + n);
      int[][] topIds = new int[n][topK];
      float[][] topLogProbs = new float[n][];
      for (int j = 0; j < n; j++) {
        int at = (first + j) * topK;
        for (int k = 0; k < topK; k++) {
          topIds[j][k] = (int) out.topIds[at + k];
        }
        topLogProbs[j] = Arrays.copyOfRange(out.topLogProbs, at, at + topK);
      }
      result.add(new TokenScores(row, topIds, topLogProbs));
    }
    return result;
  }

  /** Host buffers of a whole call: per position its target log-prob and {@code topK} (id, log-prob) pairs. */
  private record Scores(float[] logProbs, long[] topIds, float[] topLogProbs, int topK) {}

  /** Forward of {@code rows} padded sequences; writes their [rows, contLen] scores into {@code out} at {@code outOffset}. */
  private void scoreRows(long[] ids, long[] mask, long[] targets, int rows, int total, int contLen,
      double temperature, Scores out, int outOffset) {
    int topK = out.topK();
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
          NDArray logp = scaled.logSoftmax(-1);
          NDArray picked = logp.gather(targetArr.get(chunk, new NDIndex("{}:{}", r, end)), 2);
          int at = outOffset + r * contLen;
          System.arraycopy(picked.toFloatArray(), 0, out.logProbs(), at, (end - r) * contLen);
          if (topK > 0) {
            NDList top = logp.topK(topK, -1, true, true); // [values, indices], each [rows, contLen, topK]
            System.arraycopy(top.get(0).toFloatArray(), 0, out.topLogProbs(), at * topK, (end - r) * contLen * topK);
            System.arraycopy(top.get(1).toType(DataType.INT64, false).toLongArray(), 0, out.topIds(), at * topK,
                (end - r) * contLen * topK);
          }
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
