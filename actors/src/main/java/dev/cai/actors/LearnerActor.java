package dev.cai.actors;

import dev.cai.persistence.Commit;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.protocol.v1.LearnerStateHeader;
import dev.cai.protocol.v1.Rollout;
import dev.cai.protocol.v1.SourceOffset;
import dev.cai.runtime.Failures;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.ppo.LearnerStateCodec;
import dev.cai.runtime.ppo.PpoLearner;
import dev.cai.runtime.ppo.RolloutSample;
import dev.cai.runtime.ppo.UpdateStats;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.pattern.StatusReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PPO learner actor: owns a {@link PpoLearner} (policy and critic with their optimizers; the critic's old values
 * are computed by the learner itself, so there is no separate critic actor), learns from rollout batches in order,
 * publishes versioned policy weights to every policy actor, and commits its whole state atomically to the run's
 * {@link RecordStore} (learner-state column family plus the offset {@value #ROLLOUTS_CONSUMED} of the rollouts it has
 * consumed). When and what it publishes and commits follows {@link RolloutSchedule}.
 *
 * <p>On start it restores the committed state (version, KL coefficient, RNG, weights, optimizer moments) when the
 * store has one; a corrupt or mismatched state fails every request with an error naming the store, never a silent
 * reset. All learner work runs on the blocking dispatcher {@value ModelActor#DISPATCHER}, one request at a time; a
 * failure of an update or a commit is fatal (the run stops and resumes exactly from the last commit).
 */
public final class LearnerActor extends AbstractBehavior<LearnerActor.Command> {
  private static final Logger LOG = LoggerFactory.getLogger(LearnerActor.class);

  /** Source name of the learner's input offset: rollouts (by sequence number) it has learned from. */
  public static final String ROLLOUTS_CONSUMED = "rl.learner";

  /** Messages of the learner actor. */
  public sealed interface Command {}

  /** Reply once the learner is built and restored, with where it stands. */
  public record Start(ActorRef<StatusReply<Started>> replyTo) implements Command {}

  /** The learner is ready at policy {@code version}, having consumed rollouts before sequence {@code rolloutsConsumed}. */
  public record Started(long version, long rolloutsConsumed, boolean restored, double klCoef) {}

  /**
   * Learn from rollout batch {@code batchIndex}, whose rollouts were committed from sequence {@code firstSequence} on.
   * Batches must arrive one at a time, in order, each after the previous reply.
   */
  public record Learn(long batchIndex, long firstSequence, List<Rollout> rollouts, ActorRef<StatusReply<Learned>> replyTo)
      implements Command {
    public Learn {
      rollouts = List.copyOf(rollouts);
    }
  }

  /**
   * The outcome of one {@link Learn}: the policy {@code version} reached, the update's statistics (empty when the batch
   * only closed the run), the commit made while handling it, and whether the run has reached its target.
   */
  public record Learned(long batchIndex, long version, Optional<UpdateStats> stats, Optional<Committed> commit,
      boolean finished) {}

  /** One learner commit: the version and input offset stored, the bytes of new tensor blobs and how long it took. */
  public record Committed(long version, long rolloutsConsumed, long bytes, long millis) {}

  /** The input has ended: commit when the schedule allows (see {@link RolloutSchedule#commitsAtEndOfInput()}). */
  public record EndOfInput(ActorRef<StatusReply<Learned>> replyTo) implements Command {}

  /** Reply with a host copy of the current policy weights and their version. */
  public record GetPolicy(ActorRef<StatusReply<PublishedPolicy.Versioned>> replyTo) implements Command {}

  /**
   * A learner built from the base models, with the configs of its policy and critic (the committed state is restored
   * into the learner's own arrays, each tensor checked against the parameter it replaces).
   */
  public record Built(PpoLearner learner, LlamaConfig policyConfig, LlamaConfig criticConfig) {}

  /**
   * Settings of the learner actor.
   *
   * @param schedule publish and commit points
   * @param metricsFile where one JSON line per update is appended (empty = none)
   * @param askTimeout longest wait for a policy actor to load published weights
   */
  public record Settings(RolloutSchedule schedule, Optional<Path> metricsFile, Duration askTimeout) {}

  /** What the learner knows between requests; only the actor thread replaces it. */
  private record State(long version, long consumed, long served, long committedVersion, double klCoef) {
    State withServed(long v) {
      return new State(version, consumed, Math.max(served, v), committedVersion, klCoef);
    }

    State withCommitted(long v) {
      return new State(version, consumed, served, v, klCoef);
    }
  }

  private record Ready(PpoLearner learner, State state, boolean restored) implements Command {}

  private record StartFailed(Throwable cause) implements Command {}

  private record Done(State state, Object reply, ActorRef<?> replyTo) implements Command {}

  private record Failed(Throwable cause, ActorRef<?> replyTo) implements Command {}

  private final RecordStore store;
  private final List<ActorRef<PolicyActor.Command>> policies;
  private final PublishedPolicy published;
  private final Settings settings;
  private final Consumer<Learned> progress;
  private final Executor blocking;
  private final Scheduler scheduler; // used from future callbacks: the context itself is the actor thread's only
  private final List<ActorRef<StatusReply<Started>>> waitingForStart = new ArrayList<>();
  private PpoLearner learner;
  private State state;
  private boolean restored;
  private boolean busy;
  private CompletableFuture<?> inFlight;
  private String failure;

  /**
   * A learner over {@code store}, built by {@code factory} on the blocking dispatcher; {@code progress} is called (on the actor's thread) after every update. The actor
   * does not own the store or the policy actors.
   */
  public static Behavior<Command> create(Supplier<Built> factory, RecordStore store, List<ActorRef<PolicyActor.Command>> policies,
      PublishedPolicy published, Settings settings, Consumer<Learned> progress) {
    return Behaviors.setup(ctx -> new LearnerActor(ctx, factory, store, policies, published, settings, progress));
  }

  private LearnerActor(ActorContext<Command> ctx, Supplier<Built> factory, RecordStore store,
      List<ActorRef<PolicyActor.Command>> policies, PublishedPolicy published, Settings settings,
      Consumer<Learned> progress) {
    super(ctx);
    this.store = store;
    this.policies = List.copyOf(policies);
    this.published = published;
    this.settings = settings;
    this.progress = progress;
    this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(ModelActor.DISPATCHER));
    this.scheduler = ctx.getSystem().scheduler();
    busy = true;
    CompletableFuture<Ready> start = CompletableFuture.supplyAsync(() -> build(factory), blocking)
        .thenCompose(this::publishRestoredVersion).toCompletableFuture();
    inFlight = start;
    ctx.pipeToSelf(start, (r, err) -> err == null ? r : new StartFailed(Failures.cause(err)));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Start.class, this::onStart)
        .onMessage(Learn.class, this::onLearn)
        .onMessage(EndOfInput.class, this::onEndOfInput)
        .onMessage(GetPolicy.class, this::onGetPolicy)
        .onMessage(Ready.class, this::onReady)
        .onMessage(StartFailed.class, this::onStartFailed)
        .onMessage(Done.class, this::onDone)
        .onMessage(Failed.class, this::onFailed)
        .onSignal(PostStop.class, s -> onStop())
        .build();
  }

  // -------------------------------------------------------------------------------------------- start

  /** Builds the learner and restores the committed state, checking it against the store (blocking). */
  private Ready build(Supplier<Built> factory) {
    Built built = factory.get();
    PpoLearner l = built.learner();
    try {
      Optional<LearnerStateHeader> header = store.learnerHeader();
      Optional<SourceOffset> offset = store.offset(ROLLOUTS_CONSUMED);
      if (header.isEmpty()) {
        if (offset.isPresent() && offset.get().getOffset() > 0) {
          throw new IllegalStateException("the store has consumed " + offset.get().getOffset()
              + " rollouts but holds no learner state");
        }
        trimMetrics(0);
        return new Ready(l, new State(0, 0, published.baseVersion(), 0, l.klCoef()), false);
      }
      // one tensor at a time, straight into the learner's arrays: never the whole 3.2 GB of a 135M policy and critic
      LearnerStateCodec.restore(header.get(), store::learnerState, store.location(), l.restoreTarget());
      long version = l.version();
      long consumed = checkRestored(header.get(), offset, version);
      trimMetrics(version);
      return new Ready(l, new State(version, consumed, published.baseVersion(), version, l.klCoef()), true);
    } catch (RuntimeException e) {
      l.close();
      throw new IllegalStateException("Cannot restore the PPO learner from " + store.location() + ": "
          + Failures.describe(e), e);
    }
  }

  /** The committed input offset, after checking that header, offset and stored rollouts agree with {@code version}. */
  private long checkRestored(LearnerStateHeader header, Optional<SourceOffset> offset, long version) {
    if (version != header.getPolicyVersion()) {
      throw new IllegalStateException("the header says policy version " + header.getPolicyVersion()
          + " but the restored learner is at version " + version);
    }
    long consumed = offset.map(SourceOffset::getOffset).orElseThrow(() -> new IllegalStateException(
        "the learner state has no committed input offset '" + ROLLOUTS_CONSUMED + "'"));
    for (SourceOffset o : header.getInputOffsetsList()) {
      if (o.getSource().equals(ROLLOUTS_CONSUMED) && o.getOffset() != consumed) {
        throw new IllegalStateException("the header's input offset " + o.getOffset() + " differs from the committed "
            + "offset " + consumed + " of '" + ROLLOUTS_CONSUMED + "'");
      }
    }
    if (consumed > 0) {
      long last = store.get(RecordKind.ROLLOUTS, consumed - 1).map(Rollout::getBatchIndex).orElseThrow(
          () -> new IllegalStateException("the learner consumed " + consumed + " rollouts but rollout #"
              + (consumed - 1) + " is missing"));
      if (last != version - 1) {
        throw new IllegalStateException("the last consumed rollout #" + (consumed - 1) + " is of batch " + last
            + " but a learner at version " + version + " has learned batches 0.." + (version - 1));
      }
    }
    store.get(RecordKind.ROLLOUTS, consumed).ifPresent(next -> {
      if (next.getBatchIndex() != version) {
        throw new IllegalStateException("the first unconsumed rollout #" + consumed + " is of batch "
            + next.getBatchIndex() + " but a learner at version " + version + " learns batch " + version + " next");
      }
    });
    return consumed;
  }

  /** With lag 0 the next batch needs the restored version itself: publish it before starting. */
  private CompletionStage<Ready> publishRestoredVersion(Ready ready) {
    long v = ready.state().version();
    if (settings.schedule().lag() != 0 || v == published.baseVersion()) {
      return CompletableFuture.completedFuture(ready);
    }
    return publish(ready.learner(), v).thenApply(x -> new Ready(ready.learner(), ready.state().withServed(v), ready.restored()));
  }

  private Behavior<Command> onStart(Start start) {
    if (failure != null) {
      start.replyTo().tell(StatusReply.error(failure));
    } else if (state == null) {
      waitingForStart.add(start.replyTo());
    } else {
      start.replyTo().tell(StatusReply.success(started()));
    }
    return this;
  }

  private Behavior<Command> onReady(Ready ready) {
    busy = false;
    inFlight = null;
    learner = ready.learner();
    state = ready.state();
    restored = ready.restored();
    getContext().getLog().info("PPO learner ready at policy version {} ({} rollouts consumed, {})", state.version(),
        state.consumed(), restored ? "restored from " + store.location() : "fresh");
    waitingForStart.forEach(r -> r.tell(StatusReply.success(started())));
    waitingForStart.clear();
    return this;
  }

  private Started started() {
    return new Started(state.version(), state.consumed(), restored, state.klCoef()); // never touch a busy learner
  }

  private Behavior<Command> onStartFailed(StartFailed failed) {
    busy = false;
    inFlight = null;
    fatal(Failures.describe(failed.cause()));
    waitingForStart.forEach(r -> r.tell(StatusReply.error(failure)));
    waitingForStart.clear();
    return this;
  }

  // -------------------------------------------------------------------------------------------- learn

  /** Where one Learn request's chain stands: the state, the commit made so far and the update's statistics. */
  private record Step(State state, Optional<Committed> commit, Optional<UpdateStats> stats) {
    Step with(State s) {
      return new Step(s, commit, stats);
    }

    Step committed(Committed c) {
      return new Step(state.withCommitted(c.version()), Optional.of(c), stats);
    }
  }

  private Behavior<Command> onLearn(Learn learn) {
    String refusal = refusal(learn);
    if (refusal != null) {
      learn.replyTo().tell(StatusReply.error(refusal));
      return this;
    }
    RolloutSchedule schedule = settings.schedule();
    PpoLearner l = learner;
    long b = learn.batchIndex();
    CompletionStage<Step> chain = CompletableFuture.completedFuture(new Step(state, Optional.empty(), Optional.empty()));
    if (schedule.publishesOnReceipt(b, state.served())) {
      chain = chain.thenCompose(st -> publish(l, b).thenApply(x -> st.with(st.state().withServed(b))));
    }
    if (schedule.commitsOnReceipt(b) && state.committedVersion() != b) {
      chain = chain.thenApplyAsync(st -> st.committed(commit(l, b, learn.firstSequence())), blocking);
    }
    if (!schedule.finishedOnReceipt(b)) {
      chain = chain.thenApplyAsync(st -> update(l, st, learn), blocking)
          .thenCompose(st -> schedule.publishesAfterUpdate(st.state().version())
              ? publish(l, st.state().version()).thenApply(x -> st.with(st.state().withServed(st.state().version())))
              : CompletableFuture.completedFuture(st))
          .thenApplyAsync(st -> schedule.commitsAfterUpdate(st.state().version())
              ? st.committed(commit(l, st.state().version(), st.state().consumed()))
              : st, blocking);
    }
    CompletionStage<Done> done = chain.thenApplyAsync(st -> {
      boolean finished = st.stats().isEmpty() || schedule.finishedAfterUpdate(st.state().version());
      Learned learned = new Learned(b, st.state().version(), st.stats(), st.commit(), finished);
      if (st.stats().isPresent()) {
        settings.metricsFile().ifPresent(f -> RlMetrics.append(f, learned));
      }
      return new Done(st.state(), learned, learn.replyTo());
    }, blocking);
    run(done, learn.replyTo());
    return this;
  }

  /** Runs {@code work} as the one request in flight; its outcome comes back as {@link Done} or {@link Failed}. */
  private void run(CompletionStage<Done> work, ActorRef<?> replyTo) {
    busy = true;
    inFlight = work.toCompletableFuture();
    getContext().pipeToSelf(work, (d, err) -> err == null ? d : new Failed(Failures.cause(err), replyTo));
  }

  /** Why {@code learn} cannot be served now, or null. */
  private String refusal(Learn learn) {
    if (failure != null) {
      return failure;
    }
    if (state == null || busy) {
      return "the PPO learner is busy: batches must arrive one at a time, each after the previous reply";
    }
    if (learn.batchIndex() != state.version()) {
      return "the PPO learner at policy version " + state.version() + " received batch " + learn.batchIndex()
          + ": batch k is learned by version k, in order";
    }
    if (learn.firstSequence() != state.consumed()) {
      return "batch " + learn.batchIndex() + " starts at rollout #" + learn.firstSequence() + " but the learner has "
          + "consumed rollouts up to #" + state.consumed();
    }
    if (learn.rollouts().isEmpty()) {
      return "batch " + learn.batchIndex() + " has no rollouts";
    }
    return null;
  }

  /** One PPO update (blocking). */
  private static Step update(PpoLearner l, Step st, Learn learn) {
    State s = st.state();
    List<RolloutSample> samples = learn.rollouts().stream().map(LearnerActor::sample).toList();
    UpdateStats stats = l.update(samples);
    if (l.version() != s.version() + 1 || stats.version() != l.version()) {
      throw new IllegalStateException("the PPO update of batch " + learn.batchIndex() + " took the policy from version "
          + s.version() + " to " + l.version() + " (stats say " + stats.version() + "); expected " + (s.version() + 1));
    }
    State next = new State(l.version(), s.consumed() + learn.rollouts().size(), s.served(), s.committedVersion(),
        l.klCoef());
    return new Step(next, st.commit(), Optional.of(stats));
  }

  private Behavior<Command> onEndOfInput(EndOfInput end) {
    if (failure != null || state == null || busy) {
      end.replyTo().tell(StatusReply.error(failure != null ? failure : "the PPO learner is busy"));
      return this;
    }
    State s = state;
    if (!settings.schedule().commitsAtEndOfInput() || s.committedVersion() == s.version()) {
      end.replyTo().tell(StatusReply.success(new Learned(s.version(), s.version(), Optional.empty(), Optional.empty(),
          true)));
      return this;
    }
    PpoLearner l = learner;
    run(CompletableFuture.supplyAsync(() -> {
      Committed c = commit(l, s.version(), s.consumed());
      return new Done(s.withCommitted(s.version()), new Learned(s.version(), s.version(), Optional.empty(),
          Optional.of(c), true), end.replyTo());
    }, blocking), end.replyTo());
    return this;
  }

  private Behavior<Command> onGetPolicy(GetPolicy get) {
    if (failure != null || state == null || busy) {
      get.replyTo().tell(StatusReply.error(failure != null ? failure : "the PPO learner is busy"));
      return this;
    }
    State s = state;
    PpoLearner l = learner;
    run(CompletableFuture.supplyAsync(() -> new Done(s, new PublishedPolicy.Versioned(s.version(), l.policyWeights()),
        get.replyTo()), blocking), get.replyTo());
    return this;
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private Behavior<Command> onDone(Done done) {
    busy = false;
    inFlight = null;
    state = done.state();
    ((ActorRef) done.replyTo()).tell(StatusReply.success(done.reply()));
    if (done.reply() instanceof Learned l && l.stats().isPresent()) {
      progress.accept(l);
    }
    return this;
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private Behavior<Command> onFailed(Failed failed) {
    busy = false;
    inFlight = null;
    fatal("the PPO learner failed at policy version " + state.version() + ": " + Failures.describe(failed.cause()));
    getContext().getLog().error(failure, failed.cause());
    ((ActorRef) failed.replyTo()).tell(StatusReply.error(failure));
    return this;
  }

  private void fatal(String message) {
    failure = message;
    published.failWaiting(new IllegalStateException(message));
  }

  private Behavior<Command> onStop() {
    published.failWaiting(new IllegalStateException("the PPO learner stopped"));
    PpoLearner l = learner;
    if (inFlight != null) {
      // never close native memory under a running update; a learner still being built is closed once built
      inFlight.whenComplete((r, err) -> {
        if (l != null) {
          l.close();
        } else if (r instanceof Ready ready) {
          ready.learner().close();
        }
      });
    } else if (l != null) {
      l.close();
    }
    return this;
  }

  // ------------------------------------------------------------------------------------ publish, commit

  /**
   * Publishes the learner's current weights as {@code version}: records them in {@link PublishedPolicy}, sends them
   * to every policy actor and marks the version served once all have acknowledged.
   */
  private CompletionStage<Long> publish(PpoLearner l, long version) {
    return CompletableFuture.supplyAsync(() -> {
      if (l.version() != version) {
        throw new IllegalStateException("cannot publish version " + version + ": the learner is at version "
            + l.version());
      }
      return l.policyWeights();
    }, blocking).thenCompose(weights -> {
      published.publish(version, weights);
      List<CompletableFuture<PolicyActor.WeightsUpdated>> acks = new ArrayList<>();
      for (ActorRef<PolicyActor.Command> p : policies) {
        acks.add(AskPattern.<PolicyActor.Command, PolicyActor.WeightsUpdated>askWithStatus(p,
            replyTo -> new PolicyActor.UpdateWeights(version, weights, replyTo), settings.askTimeout(),
            scheduler).toCompletableFuture());
      }
      return CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).thenApply(x -> {
        published.markServed(version);
        return version;
      });
    });
  }

  /**
   * Commits the learner's whole state as {@code version} with {@code consumed} rollouts learned (blocking), the way
   * {@link LearnerStateCodec} prescribes: each tensor blob the store lacks in its own small commit (an unreferenced
   * blob is invisible), then the header atomically with the input offset and the deletion of the blobs it no longer
   * references. A crash in between leaves the previous state intact.
   */
  private Committed commit(PpoLearner l, long version, long consumed) {
    long t0 = System.nanoTime();
    if (l.version() != version) {
      throw new IllegalStateException("commit of version " + version + " found the learner at " + l.version());
    }
    // the blobs go through the write-ahead log into table files while the previous state's blobs still stand
    long stateBytes = l.stateBytes();
    store.requireFreeSpace(stateBytes + stateBytes / 4, "the learner commit of policy version " + version);
    long t1 = System.nanoTime();
    Set<String> existing = new HashSet<>(store.learnerStateNames());
    SourceOffset offset = SourceOffset.newBuilder().setSource(ROLLOUTS_CONSUMED).setOffset(consumed).build();
    long[] bytes = {0};
    // the live state: tensors reach the heap one at a time, never the whole 3.2 GB of a 135M policy and critic
    LearnerStateHeader header = LearnerStateCodec.encode(l.state(), List.of(offset), (key, value) -> {
      if (!existing.contains(key)) {
        store.commit(new Commit().putLearnerState(key, value));
        bytes[0] += value.length;
      }
    });
    long t2 = System.nanoTime();
    Set<String> referenced = LearnerStateCodec.blobKeys(header);
    Commit c = new Commit().putLearnerHeader(header).offset(offset);
    for (String name : existing) {
      if (LearnerStateCodec.isBlobKey(name) && !referenced.contains(name)) {
        c.deleteLearnerState(name);
      }
    }
    store.commit(c);
    long millis = (System.nanoTime() - t0) / 1_000_000;
    LOG.info("PPO learner committed policy version {} ({} rollouts consumed, {} MiB of new tensors) in {} ms: "
        + "setup {} ms, tensor blobs {} ms, header {} ms", version, consumed, bytes[0] >> 20, millis,
        (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, millis - (t2 - t0) / 1_000_000);
    return new Committed(version, consumed, bytes[0], millis);
  }

  /** The learner's view of a stored rollout. */
  static RolloutSample sample(Rollout r) {
    return new RolloutSample(r.getPromptId(), ints(r.getPromptTokenIdsList()), ints(r.getResponseTokenIdsList()),
        floats(r.getSampledLogprobsList()), floats(r.getReferenceLogprobsList()), r.getScore(), r.getEndedWithEos(),
        r.getPolicyVersion());
  }

  private static int[] ints(List<Integer> xs) {
    return xs.stream().mapToInt(Integer::intValue).toArray();
  }

  private static float[] floats(List<Float> xs) {
    float[] out = new float[xs.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = xs.get(i);
    }
    return out;
  }

  /** Keeps the metrics lines of versions up to {@code version}: later ones are recomputed by the replay. */
  private void trimMetrics(long version) {
    settings.metricsFile().ifPresent(f -> RlMetrics.keepUpTo(f, version));
  }
}
