package dev.cai.streams.remote;

import dev.cai.actors.Completion;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.streams.Responder;
import java.util.concurrent.CompletionStage;

/**
 * A {@link Responder} backed by a remote model's chat completions: the conversation goes as chat messages (the
 * server applies its model's chat template), sampled with {@code sampling} and the call's seed; a failed call fails
 * the stage, which the graphs record as a failed example or a skipped comparison.
 */
public record RemoteResponder(OpenAiClient client, GenerationSettings sampling) implements Responder {
  @Override
  public CompletionStage<Completion> respond(Transcript conversation, long seed) {
    return client.chat(conversation.messages(), sampling.withSeed(seed));
  }
}
