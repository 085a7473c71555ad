package dev.cai.streams;

import dev.cai.actors.Completion;
import dev.cai.actors.GenerateRequest;
import dev.cai.actors.ModelActor;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.GenerationSettings;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/** A {@link Responder} that asks a generation {@link ModelActor}; errors and timeouts fail the stage. */
public record ActorResponder(ActorRef<ModelActor.Command<GenerateRequest, Completion>> actor, GenerationSettings settings,
    Duration timeout, ActorSystem<?> system) implements Responder {

  @Override
  public CompletionStage<Completion> respond(Transcript conversation, long seed) {
    GenerateRequest request = new GenerateRequest(conversation, settings.withSeed(seed));
    return AskPattern.askWithStatus(actor, replyTo -> new ModelActor.Submit<>(request, replyTo), timeout,
        system.scheduler());
  }
}
