package dev.cai.runtime.bench;

import ai.djl.Device;
import dev.cai.runtime.generate.ContinuationScorer;
import dev.cai.runtime.generate.GenerationResult;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.generate.Generator;
import dev.cai.runtime.model.LlamaModel;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Manual profiling of long-context scoring and generation at SmolLM2 shapes (not a test). */
public final class ScoreProfile {
  public static void main(String[] args) {
    int b = Integer.parseInt(args[0]);
    int ctx = Integer.parseInt(args[1]);
    try (LlamaModel model = LlamaModel.create(RuntimeBenchmark.randomSmolLm2Shaped(1), Device.cpu())) {
      SplittableRandom rng = new SplittableRandom(1);
      List<int[]> contexts = new ArrayList<>();
      List<int[]> conts = new ArrayList<>();
      for (int i = 0; i < b; i++) {
        contexts.add(rng.ints(ctx - i % 7, 3, 49_000).toArray());
        conts.add(rng.ints(3, 3, 49_000).toArray());
      }
      ContinuationScorer scorer = new ContinuationScorer(model);
      for (int r = 0; r < 2; r++) {
        long t0 = System.nanoTime();
        double[] totals = scorer.totalLogProbs(contexts, conts);
        System.out.printf("score %d x %d: %.0f ms (%.0f tok/s), total[0]=%.3f%n", b, ctx, (System.nanoTime() - t0) / 1e6,
            b * ctx / ((System.nanoTime() - t0) / 1e9), totals[0]);
      }
      GenerationResult g = new Generator(model).generate(contexts, GenerationSettings.sampling(8, 0.7, 1).withTopP(0.9));
      System.out.printf("generate %d x %d + 8: prefill %.0f ms, decode %.0f ms for %d steps%n", b, ctx,
          g.prefillNanos() / 1e6, g.decodeNanos() / 1e6, g.decodeSteps());
      Runtime rt = Runtime.getRuntime();
      System.out.printf("heap used %d MB%n", (rt.totalMemory() - rt.freeMemory()) >> 20);
    }
  }
}
