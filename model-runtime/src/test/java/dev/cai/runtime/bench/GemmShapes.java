package dev.cai.runtime.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.cai.runtime.model.ComputeThreads;
import dev.cai.runtime.model.LlamaModel;
import java.util.function.BinaryOperator;

/**
 * Manual profiling (not a test): float32 GFLOP/s of SmolLM2-135M's weight products at decode batch sizes, as the
 * model applies them ({@link LlamaModel#linear} on [rows, in]) and against a pre-transposed contiguous weight.
 * Arguments: compute threads (default 2).
 */
public final class GemmShapes {
  private static final int[][] WEIGHTS = {{960, 576}, {576, 576}, {3072, 576}, {576, 1536}, {49_152, 576}};
  private static final String[] NAMES = {"q|k|v", "o", "gate|up", "down", "lm head"};

  private GemmShapes() {}

  public static void main(String[] args) {
    ComputeThreads.set(args.length > 0 ? Integer.parseInt(args[0]) : 2);
    try (NDManager m = NDManager.newBaseManager()) {
      for (int rows : new int[] {32, 64, 128}) {
        for (int i = 0; i < WEIGHTS.length; i++) {
          try (NDManager scope = m.newSubManager()) {
            NDArray w = scope.randomUniform(-1f, 1f, new Shape(WEIGHTS[i][0], WEIGHTS[i][1]));
            NDArray wt = w.transpose().duplicate();
            NDArray x = scope.randomUniform(-1f, 1f, new Shape(rows, WEIGHTS[i][1]));
            double flops = 2.0 * rows * WEIGHTS[i][0] * WEIGHTS[i][1];
            int reps = WEIGHTS[i][0] > 10_000 ? 5 : 50;
            System.out.printf("rows %3d  %-8s %5d x %4d  linear %6.1f GFLOP/s  matMul(pre-transposed) %6.1f GFLOP/s%n",
                rows, NAMES[i], WEIGHTS[i][0], WEIGHTS[i][1], flops * reps / best(reps, x, w, LlamaModel::linear),
                flops * reps / best(reps, x, wt, NDArray::matMul));
          }
        }
      }
    }
  }

  /** Best of 3 timings, in ns, of {@code reps} products (each synchronised and freed). */
  private static long best(int reps, NDArray x, NDArray w, BinaryOperator<NDArray> product) {
    long best = Long.MAX_VALUE;
    for (int r = 0; r < 3; r++) {
      long start = System.nanoTime();
      for (int i = 0; i < reps; i++) {
        NDArray y = product.apply(x, w);
        y.getFloat(0, 0);
        y.close();
      }
      best = Math.min(best, System.nanoTime() - start);
    }
    return best;
  }
}
