package dev.cai.streams;

import dev.cai.actors.Completion;
import dev.cai.runtime.constitution.Transcript;
import java.util.concurrent.CompletionStage;

/** Continues a conversation as the assistant: in production an ask to a model actor, in tests a fake. */
@FunctionalInterface
public interface Responder {
  /** The reply to {@code conversation}, sampled with {@code seed}; fails when the model cannot answer. */
  CompletionStage<Completion> respond(Transcript conversation, long seed);

  /** This responder with its calls metered as one stage ({@code meter}): in flight, latency, completion tokens. */
  default Responder metered(StageMeter meter) {
    return (conversation, seed) -> meter.time(1, () -> respond(conversation, seed), Completion::completionTokens);
  }
}
