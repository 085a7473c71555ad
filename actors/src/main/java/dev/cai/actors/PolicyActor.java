package dev.cai.actors;

import dev.cai.runtime.Failures;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.weights.ModelWeights;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.pattern.StatusReply;

/**
 * The PPO policy actor: owns a {@link PolicyModel}, serves a current policy version, samples rollouts for exactly
 * the version a request requires, and swaps in newly published weights between generation batches (never during
 * one). Work runs one job at a time, in arrival order, on the blocking dispatcher {@value ModelActor#DISPATCHER}.
 *
 * <p>Version gate: a request for a version newer than the current one waits in a bounded stash until
 * {@link UpdateWeights} brings it; a request for an older version fails (the rollout schedule guarantees that never
 * happens, so it is a broken invariant, not a retry case).
 *
 * <p>Supervised like {@link ModelActor}: a model failure fails the running, queued and stashed requests with a clear
 * reply and restarts the actor with backoff. On (re)start it loads the base model and then the latest weights of
 * {@link PublishedPolicy}, so a restart never silently goes back to the base version.
 */
public final class PolicyActor extends AbstractBehavior<PolicyActor.Command> {
  /** Messages of the policy actor. */
  public sealed interface Command {}

  /**
   * Sample one response per conversation with the policy of version {@code requiredVersion}, sequence i from
   * {@code seeds[i]}; the reply holds one outcome per conversation (a too-long prompt fails alone).
   */
  public record GenerateRollouts(List<Transcript> conversations, long[] seeds, long requiredVersion,
      ActorRef<StatusReply<RolloutsGenerated>> replyTo) implements Command {
    public GenerateRollouts {
      conversations = List.copyOf(conversations);
      if (seeds.length != conversations.size()) {
        throw new IllegalArgumentException(conversations.size() + " conversations but " + seeds.length + " seeds");
      }
      if (requiredVersion < 0) {
        throw new IllegalArgumentException("required policy version must be >= 0, got " + requiredVersion);
      }
    }
  }

  /** Serve {@code weights} as policy version {@code version} from now on; acknowledged once loaded. */
  public record UpdateWeights(long version, ModelWeights weights, ActorRef<StatusReply<WeightsUpdated>> replyTo)
      implements Command {}

  /** The samples of one {@link GenerateRollouts}, in request order, by policy {@code version} of model {@code modelId}. */
  public record RolloutsGenerated(long version, String modelId, List<BatchModel.Outcome<PolicySample>> samples) {}

  /** The actor now serves {@code version}. */
  public record WeightsUpdated(long version) {}

  /**
   * Settings of a policy actor.
   *
   * @param sampling how rollouts are sampled: temperature &gt; 0, no top-k/top-p filter (PPO's log-probs are of the
   *     full distribution at the sampling temperature); its seed is ignored (requests carry seeds)
   * @param maxQueued jobs waiting to run beyond which new ones are refused
   * @param maxStashed requests for a future version held beyond which new ones are refused
   * @param minBackoff first restart delay after a model failure
   * @param maxBackoff longest restart delay
   */
  public record Settings(GenerationSettings sampling, int maxQueued, int maxStashed, Duration minBackoff,
      Duration maxBackoff) {
    public Settings {
      if (!(sampling.temperature() > 0) || sampling.topK() != 0 || sampling.topP() != 1.0) {
        throw new IllegalArgumentException("PPO sampling needs temperature > 0 and no top-k/top-p filter, got "
            + sampling);
      }
      if (maxQueued < 1 || maxStashed < 1) {
        throw new IllegalArgumentException("policy actor needs max-queued and max-stashed >= 1");
      }
      if (minBackoff.isNegative() || maxBackoff.compareTo(minBackoff) < 0) {
        throw new IllegalArgumentException("policy actor needs 0 <= min-backoff <= max-backoff");
      }
    }
  }

  private record Loaded(PolicyModel model, long version) implements Command {}

  private record LoadFailed(Throwable cause) implements Command {}

  private record JobDone(Command job, Object result) implements Command {}

  private record JobFailed(Command job, Throwable cause) implements Command {}

  /** Thrown inside the actor to make its supervisor restart it with backoff. */
  public static final class PolicyFailure extends RuntimeException {
    PolicyFailure(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final String name;
  private final Settings settings;
  private final Executor blocking;
  private final ArrayDeque<Command> queue = new ArrayDeque<>();
  private final ArrayDeque<GenerateRollouts> stash = new ArrayDeque<>();
  private PolicyModel model;
  private long version = -1;
  private Command running;
  private CompletableFuture<?> inFlight;

  /**
   * A supervised policy actor.
   *
   * @param name role in messages (e.g. "policy-0")
   * @param loader builds the base model (the weights of {@code published.baseVersion()}); called again on restart
   * @param published the learner's published versions: the actor starts at the latest one
   */
  public static Behavior<Command> create(String name, Supplier<PolicyModel> loader, PublishedPolicy published,
      Settings settings) {
    Behavior<Command> actor = Behaviors.setup(ctx -> new PolicyActor(ctx, name, loader, published, settings));
    return Behaviors.supervise(actor).onFailure(PolicyFailure.class,
        SupervisorStrategy.restartWithBackoff(settings.minBackoff(), settings.maxBackoff(), 0.2));
  }

  private PolicyActor(ActorContext<Command> ctx, String name, Supplier<PolicyModel> loader, PublishedPolicy published,
      Settings settings) {
    super(ctx);
    this.name = name;
    this.settings = settings;
    this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(ModelActor.DISPATCHER));
    CompletableFuture<Loaded> load = CompletableFuture.supplyAsync(() -> load(loader, published), blocking);
    inFlight = load;
    ctx.pipeToSelf(load, (m, err) -> err == null ? m : new LoadFailed(Failures.cause(err)));
  }

  /** The base model, then the latest published weights over it. */
  private static Loaded load(Supplier<PolicyModel> loader, PublishedPolicy published) {
    PolicyModel m = loader.get();
    try {
      Optional<PublishedPolicy.Versioned> latest = published.latest();
      if (latest.isPresent()) {
        m.loadWeights(latest.get().weights());
        return new Loaded(m, latest.get().version());
      }
      return new Loaded(m, published.baseVersion());
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(GenerateRollouts.class, this::onRequest)
        .onMessage(UpdateWeights.class, this::onRequest)
        .onMessage(Loaded.class, this::onLoaded)
        .onMessage(LoadFailed.class, this::onLoadFailed)
        .onMessage(JobDone.class, this::onJobDone)
        .onMessage(JobFailed.class, this::onJobFailed)
        .onSignal(PreRestart.class, s -> onStop())
        .onSignal(PostStop.class, s -> onStop())
        .build();
  }

  private Behavior<Command> onRequest(Command request) {
    if (queue.size() >= settings.maxQueued()) {
      reject(request, name + " is overloaded: " + queue.size() + " jobs queued");
      return this;
    }
    queue.add(request);
    runNext();
    return this;
  }

  private Behavior<Command> onLoaded(Loaded loaded) {
    inFlight = null;
    model = loaded.model();
    version = loaded.version();
    getContext().getLog().info("{} model {} loaded, serving policy version {}", name, model.id(), version);
    runNext();
    return this;
  }

  private Behavior<Command> onLoadFailed(LoadFailed failed) {
    inFlight = null;
    throw failAll("could not be loaded", failed.cause());
  }

  @SuppressWarnings("unchecked")
  private Behavior<Command> onJobDone(JobDone done) {
    running = null;
    inFlight = null;
    if (done.job() instanceof GenerateRollouts g) {
      g.replyTo().tell(StatusReply.success(new RolloutsGenerated(version, model.id(),
          (List<BatchModel.Outcome<PolicySample>>) done.result())));
    } else if (done.job() instanceof UpdateWeights u) {
      version = u.version();
      getContext().getLog().debug("{} serves policy version {}", name, version);
      u.replyTo().tell(StatusReply.success(new WeightsUpdated(version)));
      unstash();
    }
    runNext();
    return this;
  }

  private Behavior<Command> onJobFailed(JobFailed failed) {
    running = null;
    inFlight = null;
    fail(List.of(failed.job()), describeModel() + " failed: " + Failures.describe(failed.cause()));
    throw failAll("failed", failed.cause());
  }

  private Behavior<Command> onStop() {
    String message = name + " stopped before serving the request";
    fail(new ArrayList<>(queue), message);
    fail(new ArrayList<>(stash), message);
    if (running != null) {
      fail(List.of(running), message);
      running = null;
    }
    queue.clear();
    stash.clear();
    PolicyModel m = model;
    model = null;
    if (inFlight != null) {
      // never close native memory under a running job: close once it is done
      inFlight.whenComplete((r, err) -> {
        if (m != null) {
          m.close();
        } else if (r instanceof Loaded l) {
          l.model().close();
        }
      });
    } else if (m != null) {
      m.close();
    }
    return this;
  }

  /** Starts the next runnable job, if idle; stashes requests for a future version, fails those for a past one. */
  private void runNext() {
    while (model != null && running == null && !queue.isEmpty()) {
      Command job = queue.poll();
      if (job instanceof GenerateRollouts g) {
        if (g.requiredVersion() > version) {
          if (stash.size() >= settings.maxStashed()) {
            reject(g, name + " already holds " + stash.size() + " requests waiting for newer weights");
          } else {
            stash.add(g);
          }
        } else if (g.requiredVersion() < version) {
          reject(g, name + " serves policy version " + version + " but the request requires version "
              + g.requiredVersion() + ": versions only go up, so the rollout schedule is broken");
        } else {
          ModelMeters meters = ModelMeters.of(name);
          meters.batchStarted(g.conversations().size(), new long[0]);
          start(g, () -> {
            long t0 = System.nanoTime();
            Object samples = model.generate(g.conversations(), g.seeds(), settings.sampling());
            meters.forward(System.nanoTime() - t0);
            return samples;
          });
        }
      } else if (job instanceof UpdateWeights u) {
        if (u.version() < version) {
          reject(u, name + " serves policy version " + version + "; it cannot go back to version " + u.version());
        } else if (u.version() == version) {
          u.replyTo().tell(StatusReply.success(new WeightsUpdated(version))); // e.g. picked up on restart
          unstash();
        } else {
          start(u, () -> {
            model.loadWeights(u.weights());
            return u.version();
          });
        }
      }
    }
  }

  private void start(Command job, Supplier<Object> work) {
    running = job;
    CompletableFuture<Object> f = CompletableFuture.supplyAsync(work, blocking);
    inFlight = f;
    getContext().pipeToSelf(f, (r, err) -> err == null ? new JobDone(job, r) : new JobFailed(job, Failures.cause(err)));
  }

  /** Puts the stashed requests back at the head of the queue, in their order. */
  private void unstash() {
    List<GenerateRollouts> waiting = new ArrayList<>(stash);
    stash.clear();
    for (int i = waiting.size() - 1; i >= 0; i--) {
      queue.addFirst(waiting.get(i));
    }
  }

  /** Fails every queued and stashed request, and returns the exception that restarts the actor. */
  private PolicyFailure failAll(String what, Throwable cause) {
    String message = describeModel() + " " + what + (cause == null ? "" : ": " + Failures.describe(cause));
    fail(new ArrayList<>(queue), message + " (request was queued; the policy restarts)");
    fail(new ArrayList<>(stash), message + " (request was waiting for newer weights; the policy restarts)");
    queue.clear();
    stash.clear();
    return new PolicyFailure(message, cause);
  }

  private String describeModel() {
    return model == null ? name : name + " model " + model.id();
  }

  private static void reject(Command c, String message) {
    fail(List.of(c), message);
  }

  private static void fail(List<? extends Command> requests, String message) {
    for (Command c : requests) {
      if (c instanceof GenerateRollouts g) {
        g.replyTo().tell(StatusReply.error(message));
      } else if (c instanceof UpdateWeights u) {
        u.replyTo().tell(StatusReply.error(message));
      }
    }
  }
}
