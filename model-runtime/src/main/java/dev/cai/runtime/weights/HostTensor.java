package dev.cai.runtime.weights;

import java.util.Arrays;

/**
 * A named float32 tensor in JVM memory, row-major, shape in PyTorch order (outermost first):
 * the common currency between checkpoint loaders and the DJL model.
 */
public record HostTensor(String name, long[] shape, float[] data) {
  public HostTensor {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("Tensor " + name + " has a negative dimension: " + Arrays.toString(shape));
      }
      n *= d;
    }
    if (n != data.length) {
      throw new IllegalArgumentException("Tensor " + name + " has shape " + Arrays.toString(shape)
          + " (" + n + " elements) but " + data.length + " values");
    }
  }

  public long numel() {
    return data.length;
  }
}
