package dev.cai.runtime.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.cai.runtime.model.ComputeThreads;
import dev.cai.runtime.model.LlamaModel;
import java.util.List;
import java.util.function.BinaryOperator;

/**
 * Manual profiling (not a test): float32 GFLOP/s of SmolLM2-135M's weight products at decode batch sizes, for the
 * matrices the decode multiplies by ({@link LlamaModel#inferenceMatrices}: the first layer's, which every layer
 * shares in shape, and the LM head), applied as the model applies them ({@link LlamaModel#linear} on [rows, in]) and
 * against a pre-transposed contiguous copy. Arguments: compute threads (default 2).
 */
public final class GemmShapes {
  /** The first layer's matrices in {@link LlamaModel#inferenceMatrices} order, then the LM head. */
  private static final List<String> NAMES = List.of("q|k|v", "o", "gate|up", "down", "lm head");

  private GemmShapes() {}

  public static void main(String[] args) {
    ComputeThreads.set(args.length > 0 ? Integer.parseInt(args[0]) : 2);
    try (LlamaModel model = LlamaModel.create(RuntimeBenchmark.randomSmolLm2Shaped(1), Device.cpu())) {
      List<NDArray> all = model.inferenceMatrices();
      List<NDArray> matrices = List.of(all.get(0), all.get(1), all.get(2), all.get(3), all.get(all.size() - 1));
      for (int rows : new int[] {32, 64, 128}) {
        for (int i = 0; i < matrices.size(); i++) {
          try (NDManager scope = model.manager().newSubManager()) {
            NDArray w = matrices.get(i);
            long out = w.getShape().get(0);
            long in = w.getShape().get(1);
            NDArray wt = w.transpose().duplicate();
            wt.attach(scope);
            NDArray x = scope.randomUniform(-1f, 1f, new Shape(rows, in));
            double flops = 2.0 * rows * out * in;
            int reps = out > 10_000 ? 5 : 50;
            System.out.printf("rows %3d  %-8s %5d x %4d  linear %6.1f GFLOP/s  matMul(pre-transposed) %6.1f GFLOP/s%n",
                rows, NAMES.get(i), out, in, flops * reps / best(reps, x, w, LlamaModel::linear),
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
