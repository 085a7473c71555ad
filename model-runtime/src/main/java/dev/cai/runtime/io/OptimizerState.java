package dev.cai.runtime.io;

import dev.cai.runtime.weights.HostTensor;
import java.util.Arrays;
import java.util.Map;

/**
 * AdamW state in host memory, as saved in a checkpoint's {@code optimizer.safetensors}: the number of updates
 * taken and, per parameter name, the first moment {@code m} (torch {@code exp_avg}) and second moment {@code v}
 * ({@code exp_avg_sq}); {@code hyperparameters} records the settings they were built with.
 */
public record OptimizerState(long step, Map<String, HostTensor> firstMoments, Map<String, HostTensor> secondMoments,
    Map<String, String> hyperparameters) {
  public OptimizerState {
    if (step < 0) {
      throw new IllegalArgumentException("Optimizer step must be >= 0, got " + step);
    }
    firstMoments = Map.copyOf(firstMoments);
    secondMoments = Map.copyOf(secondMoments);
    hyperparameters = Map.copyOf(hyperparameters);
    if (!firstMoments.keySet().equals(secondMoments.keySet())) {
      throw new IllegalArgumentException("First and second moments must cover the same parameters");
    }
    for (Map.Entry<String, HostTensor> e : firstMoments.entrySet()) {
      long[] vShape = secondMoments.get(e.getKey()).shape();
      if (!Arrays.equals(e.getValue().shape(), vShape)) {
        throw new IllegalArgumentException("Moments of '" + e.getKey() + "' differ in shape: "
            + Arrays.toString(e.getValue().shape()) + " vs " + Arrays.toString(vShape));
      }
    }
  }
}
