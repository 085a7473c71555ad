package dev.cai.runtime.generate;

import java.util.List;

/**
 * Sampling settings of one generation call: {@code temperature} 0 means greedy; {@code topK} 0 and
 * {@code topP} 1 disable those filters; sequence i of a call draws from its own RNG derived from
 * {@code seed} and i, so the same seed and prompts give the same tokens on any device.
 */
public record GenerationSettings(
    int maxNewTokens,
    double temperature,
    double topP,
    int topK,
    long seed,
    boolean stopAtEos,
    List<String> stopStrings) {

  public GenerationSettings {
    if (maxNewTokens <= 0) {
      throw new IllegalArgumentException("maxNewTokens must be > 0, got " + maxNewTokens);
    }
    stopStrings = List.copyOf(stopStrings);
    checkSampling(temperature, topP, topK, stopStrings);
  }

  /**
   * Validates sampling parameters (also for requests that carry them before they become settings, e.g. a served
   * completion with {@code max_tokens} 0): temperature finite and &ge; 0, topP in (0, 1], topK &ge; 0, no empty stop
   * string.
   */
  public static void checkSampling(double temperature, double topP, int topK, List<String> stopStrings) {
    if (!(temperature >= 0) || Double.isInfinite(temperature)) {
      throw new IllegalArgumentException("temperature must be finite and >= 0, got " + temperature);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("topK must be >= 0 (0 = off), got " + topK);
    }
    if (stopStrings.stream().anyMatch(String::isEmpty)) {
      throw new IllegalArgumentException("stop strings must not be empty");
    }
  }

  /** Greedy decoding of up to {@code maxNewTokens}, stopping at EOS. */
  public static GenerationSettings greedy(int maxNewTokens) {
    return new GenerationSettings(maxNewTokens, 0.0, 1.0, 0, 0L, true, List.of());
  }

  /** Plain sampling at {@code temperature} with {@code seed}, stopping at EOS. */
  public static GenerationSettings sampling(int maxNewTokens, double temperature, long seed) {
    return new GenerationSettings(maxNewTokens, temperature, 1.0, 0, seed, true, List.of());
  }

  public GenerationSettings withTopP(double p) {
    return new GenerationSettings(maxNewTokens, temperature, p, topK, seed, stopAtEos, stopStrings);
  }

  public GenerationSettings withTopK(int k) {
    return new GenerationSettings(maxNewTokens, temperature, topP, k, seed, stopAtEos, stopStrings);
  }

  public GenerationSettings withSeed(long s) {
    return new GenerationSettings(maxNewTokens, temperature, topP, topK, s, stopAtEos, stopStrings);
  }

  public GenerationSettings withStopStrings(List<String> stops) {
    return new GenerationSettings(maxNewTokens, temperature, topP, topK, seed, stopAtEos, stops);
  }

  public GenerationSettings withStopAtEos(boolean stop) {
    return new GenerationSettings(maxNewTokens, temperature, topP, topK, seed, stop, stopStrings);
  }
}
