package dev.cai.runtime.io;

import java.util.Map;

/**
 * Everything besides weights and optimizer moments that a training run needs to resume exactly, saved as
 * {@code trainer_state.json}: optimizer steps taken (also the learning-rate schedule position), training
 * examples consumed, the state of the run's random generator, and free-form {@code extra} settings.
 */
public record TrainerState(long step, long examplesSeen, long rngState, Map<String, String> extra) {
  public TrainerState {
    if (step < 0 || examplesSeen < 0) {
      throw new IllegalArgumentException("step and examplesSeen must be >= 0, got " + step + ", " + examplesSeen);
    }
    extra = Map.copyOf(extra);
  }
}
