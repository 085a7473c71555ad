package dev.cai.streams;

import dev.cai.actors.OptionScores;
import java.util.concurrent.CompletionStage;

/** Scores the answer options after a labeling context: in production an ask to the feedback actor. */
@FunctionalInterface
public interface OptionScorer {
  CompletionStage<OptionScores> score(String context, String optionA, String optionB);

  /** This scorer with its calls metered as one stage ({@code meter}): in flight and latency. */
  default OptionScorer metered(StageMeter meter) {
    return (context, a, b) -> meter.time(1, () -> score(context, a, b), scores -> 0);
  }
}
