package dev.cai.runtime.model;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/**
 * The PyTorch engine's process-wide intra-op thread count (matmuls, element-wise ops). On a small, shared CPU
 * fewer threads can be much faster: OpenMP workers spin while waiting; see also {@code OMP_WAIT_POLICY=PASSIVE}.
 */
public final class ComputeThreads {
  private ComputeThreads() {}

  /** Current intra-op thread count. */
  public static int get() {
    Engine.getInstance(); // loads the native library
    return JniUtils.getNumThreads();
  }

  /** Sets the intra-op thread count for the whole process ({@code threads} ≥ 1). */
  public static void set(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("compute threads must be >= 1, got " + threads);
    }
    Engine.getInstance();
    JniUtils.setNumThreads(threads);
  }
}
