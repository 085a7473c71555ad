package dev.cai.streams;

import dev.cai.actors.Completion;
import dev.cai.actors.OptionScores;
import dev.cai.actors.work.ModelWorker;
import dev.cai.actors.work.WorkCodec;
import dev.cai.actors.work.WorkRouter;
import dev.cai.actors.work.WorkSettings;
import dev.cai.protocol.v1.WorkReply;
import dev.cai.protocol.v1.WorkRequest;
import dev.cai.protocol.v1.WorkerInfo;
import dev.cai.protocol.v1.WorkerInfoQuery;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.tokenizer.ChatTemplate;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * The {@link ModelWorker}s of one cluster role as a driver sees them ({@code --model cluster:ROLE}): a
 * {@link WorkRouter} that spreads the graph's model calls over every reachable worker of the role, with the model id
 * and chat template the workers reported when the job connected. Every reply must come from that model; a worker
 * that serves another one fails the call with a message naming both.
 */
public final class ClusterModel {
  private final ActorSystem<?> system;
  private final String role;
  private final ActorRef<WorkRouter.Command> router;
  private final WorkerInfo info;
  private final ChatTemplate chatTemplate;
  private final Duration askTimeout;

  private ClusterModel(ActorSystem<?> system, String role, ActorRef<WorkRouter.Command> router, WorkerInfo info,
      Duration askTimeout) {
    this.system = system;
    this.role = role;
    this.router = router;
    this.info = info;
    this.chatTemplate = ChatTemplate.fromJinja(info.getChatTemplateJinja());
    this.askTimeout = askTimeout;
  }

  /** {@link #connect(ActorSystem, String, WorkSettings)} with the system's {@code cai.work} settings. */
  public static ClusterModel connect(ActorSystem<?> system, String role) {
    return connect(system, role, WorkSettings.fromConfig(system.settings().config().getConfig("cai.work")));
  }

  /**
   * Starts a router to the workers of {@code role} and waits (up to the no-worker timeout) for one of them to say
   * which model it serves; fails when {@code system} is not a cluster member or no worker answers.
   */
  public static ClusterModel connect(ActorSystem<?> system, String role, WorkSettings settings) {
    if (!"cluster".equals(system.settings().config().getString("pekko.actor.provider"))) {
      throw new IllegalArgumentException("model " + ModelSpec.Cluster.SCHEME + role + " runs on the " + role
          + " workers of a cluster, but this process is not a cluster member: give --cluster-seed HOST:PORT");
    }
    ActorRef<WorkRouter.Command> router = system.systemActorOf(WorkRouter.create(role, settings),
        "work-router-" + role + "-" + System.nanoTime(), Props.empty());
    // one request may wait for a worker, then try max-attempts workers in turn
    Duration askTimeout = settings.noWorkerTimeout().plus(settings.attemptTimeout().multipliedBy(settings.maxAttempts()))
        .plusSeconds(5);
    WorkRequest query = WorkRequest.newBuilder().setInfo(WorkerInfoQuery.getDefaultInstance()).build();
    WorkReply reply;
    try {
      reply = route(system, router, query, askTimeout).toCompletableFuture()
          .get(askTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      router.tell(new WorkRouter.Stop());
      throw new IllegalStateException("cannot connect to the " + role + " workers: " + e.getCause().getMessage(), e);
    } catch (InterruptedException | TimeoutException e) {
      router.tell(new WorkRouter.Stop());
      throw new IllegalStateException("cannot connect to the " + role + " workers: " + e, e);
    }
    if (!reply.hasInfo() || reply.getInfo().getModelId().isBlank()) {
      router.tell(new WorkRouter.Stop());
      throw new IllegalStateException(role + " worker " + reply.getWorker() + " did not say which model it serves");
    }
    return new ClusterModel(system, role, router, reply.getInfo(), askTimeout);
  }

  /** The model the workers serve, recorded on what the graph produces with it. */
  public String modelId() {
    return info.getModelId();
  }

  /** The workers' chat template, which labeling questions are framed with. */
  public ChatTemplate chatTemplate() {
    return chatTemplate;
  }

  /** Generation on the workers with {@code sampling} (its seed replaced per call). */
  public Responder responder(GenerationSettings sampling) {
    if (!info.getGenerates()) {
      throw new IllegalArgumentException("the " + role + " workers serve no generation model");
    }
    return (conversation, seed) -> call(WorkRequest.newBuilder()
        .setGenerate(WorkCodec.generate(conversation, sampling.withSeed(seed))).build())
        .thenApply(r -> WorkCodec.completion(r.getCompletion()));
  }

  /** Answer-option scoring on the workers. */
  public OptionScorer optionScorer() {
    if (!info.getScoresOptions()) {
      throw new IllegalArgumentException("the " + role + " workers serve no feedback model");
    }
    return (context, a, b) -> call(WorkRequest.newBuilder().setScoreOptions(WorkCodec.scoreOptions(context, a, b)).build())
        .thenApply(r -> WorkCodec.optionScores(r.getOptionScores()));
  }

  /**
   * PPO rollouts on the workers' policy actors, sampled with {@code sampling} (the run's temperature and
   * max-new-tokens, which the workers check against theirs): a batch is cut into chunks of at most {@code chunkSize}
   * conversations, one request each.
   */
  public PolicySampler rolloutSampler(GenerationSettings sampling, int chunkSize) {
    if (!info.getRollouts()) {
      throw new IllegalArgumentException("the " + role + " workers serve no rollouts: start them with cai node --role "
          + role + " --rollouts");
    }
    return (conversations, seeds, version) -> PolicySampler.inChunks(conversations, seeds, chunkSize,
        (index, chunk, chunkSeeds) -> call(WorkRequest.newBuilder()
            .setRollouts(WorkCodec.rollouts(chunk, chunkSeeds, version, sampling)).build())
            .thenApply(r -> WorkCodec.samples(r.getRollouts(), chunk.size(), version)));
  }

  /** Asks a worker which model it serves (a round trip with no model work). */
  public CompletionStage<WorkerInfo> info() {
    return call(WorkRequest.newBuilder().setInfo(WorkerInfoQuery.getDefaultInstance()).build()).thenApply(WorkReply::getInfo);
  }

  /** The router's counts (workers reachable, requests routed, retried, failed, answered per worker). */
  public CompletionStage<WorkRouter.Stats> stats() {
    return AskPattern.ask(router, WorkRouter.GetStats::new, Duration.ofSeconds(10), system.scheduler());
  }

  private CompletionStage<WorkReply> call(WorkRequest work) {
    return route(system, router, work, askTimeout).thenApply(r -> {
      if (!r.getModelId().equals(info.getModelId())) {
        throw new IllegalStateException(role + " worker " + r.getWorker() + " serves model " + r.getModelId()
            + ", but this job started with " + info.getModelId() + ": every " + role + " worker must serve the same model");
      }
      return r;
    });
  }

  private static CompletionStage<WorkReply> route(ActorSystem<?> system, ActorRef<WorkRouter.Command> router,
      WorkRequest work, Duration timeout) {
    return AskPattern.askWithStatus(router, replyTo -> new WorkRouter.Route(work, replyTo), timeout, system.scheduler());
  }
}
