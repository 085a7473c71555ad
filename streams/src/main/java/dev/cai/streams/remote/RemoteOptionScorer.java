package dev.cai.streams.remote;

import dev.cai.actors.OptionScores;
import dev.cai.streams.OptionScorer;
import java.util.concurrent.CompletionStage;

/**
 * An {@link OptionScorer} backed by a remote model's prompt log-probabilities: log p(" (A)" | context) and
 * log p(" (B)" | context) from two {@code /completions} echo calls (see {@link PromptLogProbs}); the labeling graph
 * normalises them into the soft label, as it does for the in-process feedback model.
 */
public record RemoteOptionScorer(OpenAiClient client) implements OptionScorer {
  @Override
  public CompletionStage<OptionScores> score(String context, String optionA, String optionB) {
    return client.logProb(context, optionA).thenCombine(client.logProb(context, optionB),
        (a, b) -> new OptionScores(a.logProb(), b.logProb(), a.contextTokens()));
  }
}
