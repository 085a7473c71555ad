package dev.cai.runtime.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.model.TinyModels;
import java.util.List;
import org.junit.jupiter.api.Test;

class ContinuationScorerTest {
  private static final List<int[]> CONTEXTS = List.of(new int[] {5, 17, 33, 8}, new int[] {9}, new int[] {40, 3, 27, 30, 31, 2});
  private static final List<int[]> CONTINUATIONS = List.of(new int[] {12, 7}, new int[] {44, 45, 46}, new int[] {});

  @Test
  void shouldEqualPerPositionReferenceLoopAtAnyTemperature() {
    try (LlamaModel model = LlamaModel.create(TinyModels.weights(8), Device.cpu())) {
      ContinuationScorer scorer = new ContinuationScorer(model);
      for (double t : new double[] {1.0, 0.5, 2.0}) {
        List<float[]> got = scorer.tokenLogProbs(CONTEXTS, CONTINUATIONS, t);
        for (int i = 0; i < CONTEXTS.size(); i++) {
          float[] want = referenceLoop(model, CONTEXTS.get(i), CONTINUATIONS.get(i), t);
          org.junit.jupiter.api.Assertions.assertArrayEquals(want, got.get(i), 1e-4f, "T=" + t + " pair " + i);
        }
      }
      // One row per forward (budget 1) gives the same numbers as the whole batch at once.
      List<float[]> rowByRow = new ContinuationScorer(model, 1).tokenLogProbs(CONTEXTS, CONTINUATIONS, 0.5);
      List<float[]> batched = scorer.tokenLogProbs(CONTEXTS, CONTINUATIONS, 0.5);
      for (int i = 0; i < CONTEXTS.size(); i++) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(batched.get(i), rowByRow.get(i), 1e-5f);
      }
      double[] totals = scorer.totalLogProbs(CONTEXTS, CONTINUATIONS);
      float[] first = referenceLoop(model, CONTEXTS.get(0), CONTINUATIONS.get(0), 1.0);
      assertEquals(first[0] + first[1], totals[0], 1e-4);
      assertEquals(0.0, totals[2]);
    }
  }

  @Test
  void shouldGiveTheLikeliestTokensOfEachPositionWithTheSameLogProbsAsTheTargets() {
    try (LlamaModel model = LlamaModel.create(TinyModels.weights(8), Device.cpu())) {
      ContinuationScorer scorer = new ContinuationScorer(model);
      List<TokenScores> scores = scorer.tokenScores(CONTEXTS, CONTINUATIONS, 1.0, 3);
      List<float[]> plain = scorer.tokenLogProbs(CONTEXTS, CONTINUATIONS, 1.0);
      for (int i = 0; i < CONTEXTS.size(); i++) {
        TokenScores s = scores.get(i);
        org.junit.jupiter.api.Assertions.assertArrayEquals(plain.get(i), s.logProbs(), 1e-6f);
        assertEquals(CONTINUATIONS.get(i).length, s.topIds().length);
        for (int j = 0; j < s.topIds().length; j++) {
          // the top 3 of the full distribution, by a host-side sort of the reference loop's row
          int[] prefix = java.util.Arrays.copyOf(CONTINUATIONS.get(i), j);
          float[] row = referenceRow(model, CONTEXTS.get(i), prefix);
          Integer[] order = java.util.stream.IntStream.range(0, row.length).boxed()
              .sorted((a, b) -> Float.compare(row[b], row[a])).toArray(Integer[]::new);
          for (int k = 0; k < 3; k++) {
            assertEquals(order[k], s.topIds()[j][k], "pair " + i + " position " + j + " rank " + k);
            assertEquals(row[order[k]], s.topLogProbs()[j][k], 1e-4f);
          }
          assertEquals(row[CONTINUATIONS.get(i)[j]], s.logProbs()[j], 1e-4f);
        }
      }
      assertEquals(0, scorer.tokenScores(CONTEXTS, CONTINUATIONS, 1.0, 0).get(0).topIds()[0].length);
    }
  }

  /** log_softmax of the logits after {@code ctx + prefix}, from one unpadded forward. */
  private static float[] referenceRow(LlamaModel model, int[] ctx, int[] prefix) {
    int v = model.config().vocabSize();
    long[] ids = new long[ctx.length + prefix.length];
    for (int p = 0; p < ids.length; p++) {
      ids[p] = p < ctx.length ? ctx[p] : prefix[p - ctx.length];
    }
    long[] mask = new long[ids.length];
    java.util.Arrays.fill(mask, 1);
    try (NDManager m = model.manager().newSubManager()) {
      float[] logits = model.forward(m.create(ids, new Shape(1, ids.length)), m.create(mask, new Shape(1, ids.length)))
          .logits().toFloatArray();
      int off = (ids.length - 1) * v;
      double max = Double.NEGATIVE_INFINITY;
      for (int k = 0; k < v; k++) {
        max = Math.max(max, logits[off + k]);
      }
      double sum = 0;
      for (int k = 0; k < v; k++) {
        sum += Math.exp(logits[off + k] - max);
      }
      float[] row = new float[v];
      for (int k = 0; k < v; k++) {
        row[k] = (float) (logits[off + k] - max - Math.log(sum));
      }
      return row;
    }
  }

  /** One unpadded forward per prefix: log_softmax(logits / T) of the next continuation token. */
  private static float[] referenceLoop(LlamaModel model, int[] ctx, int[] cont, double t) {
    float[] out = new float[cont.length];
    int v = model.config().vocabSize();
    for (int j = 0; j < cont.length; j++) {
      long[] ids = new long[ctx.length + j];
      for (int p = 0; p < ids.length; p++) {
        ids[p] = p < ctx.length ? ctx[p] : cont[p - ctx.length];
      }
      long[] mask = new long[ids.length];
      java.util.Arrays.fill(mask, 1);
      try (NDManager m = model.manager().newSubManager()) {
        float[] logits = model.forward(m.create(ids, new Shape(1, ids.length)), m.create(mask, new Shape(1, ids.length)))
            .logits().toFloatArray();
        double max = Double.NEGATIVE_INFINITY;
        int off = (ids.length - 1) * v;
        for (int k = 0; k < v; k++) {
          max = Math.max(max, logits[off + k] / t);
        }
        double s = 0;
        for (int k = 0; k < v; k++) {
          s += Math.exp(logits[off + k] / t - max);
        }
        out[j] = (float) (logits[off + cont[j]] / t - max - Math.log(s));
      }
    }
    return out;
  }
}
