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
