package dev.cai.runtime.model;

import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelWeights;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Seeded random weights for any {@link LlamaConfig}: projections and embeddings ~ N(0, std²), norm weights
 * ~ 1 + N(0, 0.1²); for tests and benchmarks that need a model of a given shape but not a trained one.
 */
public final class RandomWeights {
  private RandomWeights() {}

  /** Weights of every tensor in {@link LlamaTensorLayout#expectedShapes}, labelled {@code random(seed=…)}. */
  public static ModelWeights create(LlamaConfig config, long seed, double std) {
    SplittableRandom rng = new SplittableRandom(seed);
    Map<String, HostTensor> tensors = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : LlamaTensorLayout.expectedShapes(config).entrySet()) {
      long[] shape = e.getValue();
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      float[] data = new float[Math.toIntExact(n)];
      boolean norm = shape.length == 1;
      for (int i = 0; i < data.length; i++) {
        data[i] = norm ? (float) (1 + 0.1 * gaussian(rng)) : (float) (std * gaussian(rng));
      }
      tensors.put(e.getKey(), new HostTensor(e.getKey(), shape, data));
    }
    return new ModelWeights(config, tensors, "random(seed=" + seed + ")");
  }

  private static double gaussian(SplittableRandom rng) {
    // Box-Muller; SplittableRandom has no nextGaussian on Java 17.
    double u = 1.0 - rng.nextDouble();
    double v = rng.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
