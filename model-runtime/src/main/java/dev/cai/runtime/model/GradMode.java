package dev.cai.runtime.model;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import java.util.function.Supplier;

/**
 * PyTorch's autograd switch, which is per thread: DJL turns it off only on the thread that starts the engine,
 * and a gradient collector restores the previous state when it closes. So code that writes parameters in
 * place (optimizer steps, weight loading) or runs inference must turn it off itself, on whatever thread it runs.
 */
public final class GradMode {
  private GradMode() {}

  /** Runs {@code work} with autograd off on this thread, then restores the previous state. */
  public static <T> T disabled(Supplier<T> work) {
    Engine.getInstance(); // loads the native library
    boolean previous = JniUtils.isGradMode();
    JniUtils.setGradMode(false);
    try {
      return work.get();
    } finally {
      JniUtils.setGradMode(previous);
    }
  }

  /** As {@link #disabled(Supplier)} for work without a result. */
  public static void disabled(Runnable work) {
    disabled(() -> {
      work.run();
      return null;
    });
  }
}
