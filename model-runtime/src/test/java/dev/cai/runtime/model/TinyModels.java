package dev.cai.runtime.model;

import dev.cai.runtime.weights.ModelWeights;

/** Tiny seeded Llama configs and weights for fast tests. */
public final class TinyModels {
  public static final int EOS = 1;
  public static final int PAD = 2;

  static {
    // Tiny matrices gain nothing from a second thread, and OpenMP spinning on a shared CPU costs a lot.
    ComputeThreads.set(1);
  }

  private TinyModels() {}

  /** vocab 64, hidden 32, intermediate 48, 2 layers, 4 heads, 2 kv heads, head dim 8. */
  public static LlamaConfig config(boolean tied) {
    return new LlamaConfig(64, 32, 48, 2, 4, 2, 8, 10_000.0, 1e-5, 128, tied, 0, EOS, PAD);
  }

  public static ModelWeights weights(long seed) {
    return RandomWeights.create(config(true), seed, 0.2);
  }

  public static ModelWeights weights(LlamaConfig config, long seed) {
    return RandomWeights.create(config, seed, 0.2);
  }
}
