package dev.cai.runtime.train;

/**
 * Learning-rate schedule: linear warm-up from 0 to {@code peakLr} over {@code warmupSteps}, then linear decay to
 * {@code finalFraction · peakLr} at {@code totalSteps}, constant after that (the schedule of
 * {@code transformers.get_linear_schedule_with_warmup}, indexed so the first update already has a non-zero rate).
 */
public record LinearWarmupDecay(double peakLr, long warmupSteps, long totalSteps, double finalFraction) {
  public LinearWarmupDecay {
    if (!(peakLr > 0) || Double.isInfinite(peakLr)) {
      throw new IllegalArgumentException("peakLr must be finite and > 0, got " + peakLr);
    }
    if (warmupSteps < 0 || totalSteps <= warmupSteps) {
      throw new IllegalArgumentException("Need 0 <= warmupSteps < totalSteps, got " + warmupSteps + ", " + totalSteps);
    }
    if (!(finalFraction >= 0 && finalFraction <= 1)) {
      throw new IllegalArgumentException("finalFraction must be in [0, 1], got " + finalFraction);
    }
  }

  /** The rate of update {@code t} (1-based: the first optimizer step is t = 1). */
  public double lrAt(long t) {
    if (t < 1) {
      throw new IllegalArgumentException("Optimizer steps are 1-based, got " + t);
    }
    if (t <= warmupSteps) {
      return peakLr * t / warmupSteps; // η_t = η · t / W
    }
    double progress = Math.min(1.0, (double) (t - warmupSteps) / (totalSteps - warmupSteps));
    return peakLr * (1.0 - (1.0 - finalFraction) * progress); // η_t = η · (1 − (1 − f) · (t − W) / (T − W))
  }
}
