package dev.cai.actors.work;

import dev.cai.actors.Completion;
import dev.cai.actors.GenerateRequest;
import dev.cai.actors.ModelActor;
import dev.cai.actors.OptionScores;
import dev.cai.actors.PolicyActor;
import dev.cai.actors.ScoreOptionsRequest;
import dev.cai.protocol.v1.RolloutWork;
import dev.cai.protocol.v1.WorkReply;
import dev.cai.protocol.v1.WorkRequest;
import dev.cai.protocol.v1.WorkerInfo;
import dev.cai.runtime.Failures;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.GenerationSettings;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * Serves this node's model actors to the drivers of a cluster: registers with the Receptionist under its role's
 * {@link #serviceKey}, turns each {@link WorkRequest} into a request to the local generation or feedback
 * {@link ModelActor} and sends the {@link WorkReply} to the request's reply address. A model error becomes an error
 * reply; a request this worker cannot serve (no such model, a malformed field) too, so the driver never waits it out.
 */
public final class ModelWorker extends AbstractBehavior<WorkRequest> {
  /**
   * The model actors of a worker.
   *
   * @param generator serves generate work, if this node has one
   * @param scorer serves score-options work, if this node has one
   * @param rollouts serves rollout work, if this node has a policy actor
   */
  public record Models(Optional<ActorRef<ModelActor.Command<GenerateRequest, Completion>>> generator,
      Optional<ActorRef<ModelActor.Command<ScoreOptionsRequest, OptionScores>>> scorer, Optional<Rollouts> rollouts) {}

  /** A policy actor and the sampling settings it was made with (rollout work must ask for the same). */
  public record Rollouts(ActorRef<PolicyActor.Command> policy, GenerationSettings sampling) {}

  private final Models models;
  private final WorkerInfo info;
  private final Duration askTimeout;
  private final ActorRefResolver resolver;
  private final String address;

  /** The Receptionist key of the workers of {@code role} (policy, feedback). */
  public static ServiceKey<WorkRequest> serviceKey(String role) {
    return ServiceKey.create(WorkRequest.class, "cai-work-" + role);
  }

  /**
   * A worker of {@code role}.
   *
   * @param modelId the id of the model it serves (recorded on what drivers produce with it)
   * @param chatTemplateJinja the model's chat template, which drivers frame labeling questions with
   * @param askTimeout longest wait for one local model call, queueing included
   */
  public static Behavior<WorkRequest> create(String role, Models models, String modelId, String chatTemplateJinja,
      Duration askTimeout) {
    WorkerInfo info = WorkerInfo.newBuilder().setModelId(modelId).setChatTemplateJinja(chatTemplateJinja)
        .setGenerates(models.generator().isPresent()).setScoresOptions(models.scorer().isPresent())
        .setRollouts(models.rollouts().isPresent()).build();
    return Behaviors.setup(ctx -> {
      ctx.getSystem().receptionist().tell(Receptionist.register(serviceKey(role), ctx.getSelf()));
      return new ModelWorker(ctx, models, info, askTimeout);
    });
  }

  private ModelWorker(ActorContext<WorkRequest> ctx, Models models, WorkerInfo info, Duration askTimeout) {
    super(ctx);
    this.models = models;
    this.info = info;
    this.askTimeout = askTimeout;
    this.resolver = ActorRefResolver.get(ctx.getSystem());
    this.address = ctx.getSystem().address().toString();
  }

  @Override
  public Receive<WorkRequest> createReceive() {
    return newReceiveBuilder().onMessage(WorkRequest.class, this::onWork).build();
  }

  private Behavior<WorkRequest> onWork(WorkRequest w) {
    ActorRef<WorkReply> replyTo;
    try {
      replyTo = resolver.resolveActorRef(w.getReplyTo());
    } catch (RuntimeException e) {
      getContext().getLog().warn("refused work {}: reply address '{}' is not an actor reference: {}", w.getId(),
          w.getReplyTo(), e.getMessage());
      return this;
    }
    WorkReply.Builder reply = WorkReply.newBuilder().setId(w.getId()).setWorker(address).setModelId(info.getModelId());
    CompletionStage<WorkReply> done;
    try {
      done = switch (w.getWorkCase()) {
        case GENERATE -> generate(w).thenApply(c -> reply.setCompletion(WorkCodec.result(c)).build());
        case SCORE_OPTIONS -> score(w).thenApply(s -> reply.setOptionScores(WorkCodec.result(s)).build());
        case ROLLOUTS -> rollouts(w).thenApply(r -> reply.setRollouts(WorkCodec.result(r.version(), r.samples())).build());
        case INFO -> CompletableFuture.completedFuture(reply.setInfo(info).build());
        case WORK_NOT_SET -> throw new IllegalArgumentException("work request " + w.getId() + " carries no work");
      };
    } catch (RuntimeException e) {
      done = CompletableFuture.failedFuture(e);
    }
    // the reply is sent from the future's thread: ActorRef.tell is thread-safe and this actor keeps no state per request
    done.whenComplete((r, err) -> replyTo.tell(err == null ? r : reply.clearResult().setError(message(err)).build()));
    return this;
  }

  private CompletionStage<Completion> generate(WorkRequest w) {
    var actor = models.generator().orElseThrow(() -> new IllegalArgumentException("this worker has no generation model"));
    GenerateRequest request = new GenerateRequest(WorkCodec.conversation(w.getGenerate()), WorkCodec.settings(w.getGenerate()));
    return AskPattern.askWithStatus(actor, r -> new ModelActor.Submit<>(request, r), askTimeout,
        getContext().getSystem().scheduler());
  }

  private CompletionStage<OptionScores> score(WorkRequest w) {
    var actor = models.scorer().orElseThrow(() -> new IllegalArgumentException("this worker has no feedback model"));
    var s = w.getScoreOptions();
    ScoreOptionsRequest request = new ScoreOptionsRequest(s.getContext(), s.getOptionA(), s.getOptionB());
    return AskPattern.askWithStatus(actor, r -> new ModelActor.Submit<>(request, r), askTimeout,
        getContext().getSystem().scheduler());
  }

  private CompletionStage<PolicyActor.RolloutsGenerated> rollouts(WorkRequest w) {
    Rollouts r = models.rollouts().orElseThrow(() -> new IllegalArgumentException("this worker serves no rollouts "
        + "(start the policy node with --rollouts)"));
    RolloutWork work = w.getRollouts();
    if (work.getTemperature() != r.sampling().temperature() || work.getMaxNewTokens() != r.sampling().maxNewTokens()) {
      throw new IllegalArgumentException("this worker samples rollouts at temperature " + r.sampling().temperature()
          + " with at most " + r.sampling().maxNewTokens() + " new tokens (its cai.rl settings), the driver asks "
          + work.getTemperature() + " and " + work.getMaxNewTokens() + ": start the node with the run's cai.rl settings");
    }
    List<Transcript> conversations = WorkCodec.conversations(work);
    long[] seeds = work.getSeedsList().stream().mapToLong(Long::longValue).toArray();
    return AskPattern.askWithStatus(r.policy(),
        replyTo -> new PolicyActor.GenerateRollouts(conversations, seeds, work.getRequiredVersion(), replyTo), askTimeout,
        getContext().getSystem().scheduler());
  }

  private static String message(Throwable t) {
    Throwable cause = Failures.cause(t);
    return cause.getClass().getSimpleName() + ": " + cause.getMessage();
  }
}
