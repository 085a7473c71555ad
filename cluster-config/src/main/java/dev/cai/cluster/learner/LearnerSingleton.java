package dev.cai.cluster.learner;

import dev.cai.persistence.CheckpointInfo;
import dev.cai.persistence.RecordStore;
import dev.cai.persistence.StoreSettings;
import dev.cai.protocol.v1.LearnerStateHeader;
import dev.cai.runtime.Failures;
import dev.cai.streams.RlJob;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.apache.pekko.Done;
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
import org.apache.pekko.cluster.typed.Cluster;

/**
 * The RL learner as a cluster singleton: on the node where it starts it opens the store the failover rule picks
 * ({@link LearnerStores}: its own or the newest shipped checkpoint, whichever is newer), runs the {@link RlJob} on it
 * (which resumes exactly from the store), and every {@code ship-every} updates (at a learner commit) takes a RocksDB
 * checkpoint of the store and hands it to its {@link CheckpointShipper}; a last one is shipped when the run ends.
 * A checkpoint the shipper releases is deleted through the store ({@link RecordStore#deleteCheckpoint}), which lists
 * its checkpoints in an index; the store closes once the standbys hold the final state.
 * The loss on failover is bounded: the learner does not run more than K + max-staleness updates ahead of the newest
 * checkpoint the standbys hold (it waits for their acknowledgement when it would).
 */
public final class LearnerSingleton extends AbstractBehavior<LearnerSingleton.Command> {
  public sealed interface Command {}

  private record Opened(LearnerStores.Opened opened) implements Command {}

  private record Progressed(RlJob.Progress progress) implements Command {}

  private record Checkpointed(String id, long version, CheckpointInfo info, long millis) implements Command {}

  private record Finished(RlJob.Summary summary) implements Command {}

  /** The learner has reached {@code version}; answer when it may take its next batch (the bounded-loss gate). */
  private record Gate(long version, ActorRef<Done> replyTo) implements Command {}

  private record Delivered(long version) implements Command {}

  private record Released(String id) implements Command {}

  /** Checkpoint {@code id} was deleted, or not: {@code failure} is null when it was. */
  private record CheckpointDeleted(String id, Throwable failure) implements Command {}

  private record Failed(String what, Throwable cause) implements Command {}

  private final LearnerJob job;
  private final LearnerHaSettings settings;
  private final ShippedCheckpoints shipped;
  private final Consumer<String> events;
  private final ActorRef<CheckpointShipper.Command> shipper;
  private final Executor blocking;
  private RecordStore store;
  private boolean checkpointing;
  private boolean finished;
  private long version;
  /** The newest checkpoint version every standby holds (or that none can still get). */
  private long delivered;
  /** Version of the newest checkpoint taken. */
  private long newestCheckpoint;
  /** Version of the learner's last commit. */
  private long committed;
  /** Version of the state the finished run committed last (once {@code finished}). */
  private long finalVersion;
  /** The checkpoint deletions under way, one after the other; the store closes after them. */
  private CompletableFuture<Void> deletions = CompletableFuture.completedFuture(null);
  /** Opening the store (started with the actor). */
  private CompletableFuture<LearnerStores.Opened> opening;
  /** The RL job, once started; it runs on the actor system, not under this actor. */
  private CompletionStage<RlJob.Summary> run;
  /**
   * Fails when this actor stops before the run finished (a hand-over): the run's gate then fails at once instead of
   * waiting ask-timeout for an answer nobody will give, so the run ends after the update in progress.
   */
  private final CompletableFuture<Done> stopped = new CompletableFuture<>();
  private final List<Gate> gates = new ArrayList<>();
  private final ActorRef<CheckpointShipper.Delivered> deliveredAdapter;

  private LearnerSingleton(ActorContext<Command> ctx, LearnerJob job, LearnerHaSettings settings,
      ShippedCheckpoints shipped, Consumer<String> events) {
    super(ctx);
    this.job = job;
    this.settings = settings;
    this.shipped = shipped;
    this.events = events;
    this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
    this.shipper = ctx.spawn(CheckpointShipper.create(settings, events, ctx.messageAdapter(
        CheckpointShipper.Released.class, r -> new Released(r.id()))), "shipper", DispatcherSelector.blocking());
    this.deliveredAdapter = ctx.messageAdapter(CheckpointShipper.Delivered.class, d -> new Delivered(d.version()));
  }

  public static Behavior<Command> create(LearnerJob job, LearnerHaSettings settings, ShippedCheckpoints shipped,
      Consumer<String> events) {
    return Behaviors.setup(ctx -> {
      LearnerSingleton s = new LearnerSingleton(ctx, job, settings, shipped, events);
      events.accept("learner singleton starting on " + Cluster.get(ctx.getSystem()).selfMember().address());
      s.opening = CompletableFuture.supplyAsync(() -> LearnerStores.open(settings.dir(), shipped,
          StoreSettings.defaults(), events), s.blocking);
      ctx.pipeToSelf(s.opening, (opened, e) -> e == null ? new Opened(opened)
          : new Failed("opening the store in " + settings.dir(), e));
      return s;
    });
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Opened.class, this::onOpened)
        .onMessage(Progressed.class, p -> onProgressed(p.progress()))
        .onMessage(Checkpointed.class, this::onCheckpointed)
        .onMessage(Finished.class, this::onFinished)
        .onMessage(Gate.class, this::onGate)
        .onMessage(Delivered.class, this::onDelivered)
        .onMessage(Released.class, this::onReleased)
        .onMessage(CheckpointDeleted.class, this::onCheckpointDeleted)
        .onMessage(Failed.class, this::onFailed)
        .onSignal(PostStop.class, s -> onPostStop())
        .build();
  }

  private Behavior<Command> onOpened(Opened o) {
    store = o.opened().store();
    version = o.opened().version();
    newestCheckpoint = version;
    committed = version;
    delivered = version;
    events.accept("learner resumes from " + o.opened().describe());
    ActorRef<Command> self = getContext().getSelf();
    Scheduler scheduler = getContext().getSystem().scheduler();
    Duration wait = job.config().rl().askTimeout();
    run = RlJob.run(getContext().getSystem(), store, job.config(), Optional.empty(), p -> self.tell(new Progressed(p)),
        RlJob.Hooks.NONE.withGate(l -> AskPattern.<Command, Done>ask(self, r -> new Gate(l.version(), r), wait, scheduler)
            .applyToEither(stopped, done -> done)));
    getContext().pipeToSelf(run, (summary, e) -> e == null ? new Finished(summary) : new Failed("the RL job", e));
    return this;
  }

  /**
   * The bounded-loss rule: the update to version v + 1 starts only when a standby holds a checkpoint of at least
   * v + 1 − K − max-staleness (a learner with max-staleness 1 commits version c on receiving batch c, one update
   * later than one with 0). Until then a checkpoint is taken if none covers that version, and the learner waits.
   */
  private Behavior<Command> onGate(Gate g) {
    gates.add(g);
    releaseGates();
    return this;
  }

  private long required(long version) {
    return version + 1 - settings.shipEvery() - job.config().rl().lag();
  }

  private Behavior<Command> onDelivered(Delivered d) {
    delivered = Math.max(delivered, d.version());
    releaseGates();
    finishUp();
    return this;
  }

  private void releaseGates() {
    gates.removeIf(g -> {
      boolean open = delivered >= required(g.version());
      if (open) {
        g.replyTo().tell(Done.getInstance());
      }
      return open;
    });
    // a waiting learner has committed what it needs (ship-every is a multiple of commit-every): checkpoint it
    if (!gates.isEmpty() && !checkpointing && newestCheckpoint < required(gates.get(0).version())
        && committed > newestCheckpoint) {
      checkpoint();
    }
  }

  private Behavior<Command> onProgressed(RlJob.Progress p) {
    version = p.learned().version();
    events.accept("update " + version + (p.replayed() ? " (replayed)" : ""));
    p.learned().commit().ifPresent(c -> {
      events.accept("committed " + c.version());
      committed = Math.max(committed, c.version());
      if (c.version() >= newestCheckpoint + settings.shipEvery()) {
        checkpoint();
      }
    });
    return this;
  }

  /** Takes a checkpoint of the store (blocking, off the actor), labelled with the version committed in it. */
  private void checkpoint() {
    if (checkpointing) {
      return; // the next commit takes one
    }
    checkpointing = true;
    RecordStore s = store;
    getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> {
      long t0 = System.nanoTime();
      // RecordStore serializes commits and checkpoints on itself: holding its monitor, the header read here is the
      // one the checkpoint contains.
      synchronized (s) {
        long v = s.learnerHeader().map(LearnerStateHeader::getPolicyVersion).orElse(0L);
        String id = String.format(Locale.ROOT, "v%06d-%d", v, System.currentTimeMillis());
        CheckpointInfo info = s.checkpoint(id);
        return new Checkpointed(id, v, info, (System.nanoTime() - t0) / 1_000_000);
      }
    }, blocking), (c, e) -> e == null ? c : new Failed("a checkpoint of " + s.location(), e));
  }

  private Behavior<Command> onCheckpointed(Checkpointed c) {
    checkpointing = false;
    newestCheckpoint = Math.max(newestCheckpoint, c.version());
    events.accept("checkpoint " + c.id() + " version " + c.version() + " taken in " + c.millis() + " ms");
    shipper.tell(new CheckpointShipper.Ship(c.id(), c.version(), c.info().path()));
    shipper.tell(new CheckpointShipper.AwaitDelivered(c.version(), deliveredAdapter));
    releaseGates();
    finishUp();
    return this;
  }

  private Behavior<Command> onFinished(Finished f) {
    finished = true;
    version = f.summary().version();
    StateDigest digest = StateDigest.of(store);
    finalVersion = digest.version();
    events.accept("done " + digest + " (started at " + f.summary().startVersion() + ", "
        + f.summary().replayedBatches() + " batches replayed)");
    finishUp();
    return this;
  }

  /**
   * Once the run has finished: checkpoints the final state if no checkpoint holds it yet (the standbys get it too),
   * then closes the store when the standbys hold that checkpoint or cannot get it (the shipper has released the older
   * checkpoints by then).
   */
  private void finishUp() {
    if (!finished || checkpointing || store == null) {
      return;
    }
    if (finalVersion > newestCheckpoint) {
      checkpoint();
    } else if (delivered >= newestCheckpoint) {
      closeStore();
    }
  }

  /** The shipper no longer reads checkpoint {@code id}: its index entry and directory go (blocking, off the actor). */
  private Behavior<Command> onReleased(Released r) {
    if (store == null) {
      return this; // closed: the checkpoint stays, listed in the store's index
    }
    RecordStore s = store;
    CompletableFuture<Void> deleted = deletions.thenRunAsync(() -> s.deleteCheckpoint(r.id()), blocking);
    deletions = deleted.exceptionally(e -> null);
    getContext().pipeToSelf(deleted, (x, e) -> new CheckpointDeleted(r.id(), e));
    return this;
  }

  private Behavior<Command> onCheckpointDeleted(CheckpointDeleted d) {
    if (d.failure() != null) {
      Throwable cause = Failures.cause(d.failure());
      getContext().getLog().warn("could not delete checkpoint {}: {}", d.id(), cause.toString());
      events.accept("could not delete checkpoint " + d.id() + ": " + cause);
    }
    return this;
  }

  private Behavior<Command> onFailed(Failed f) {
    checkpointing = false;
    Throwable cause = Failures.cause(f.cause());
    getContext().getLog().error("learner: {} failed", f.what(), cause);
    events.accept("failed: " + f.what() + ": " + cause);
    return this;
  }

  /**
   * A finished run's store closes here unless a checkpoint is being taken. An unfinished run (a hand-over) is stopped
   * at its next gate and its store closed after it: it is not this actor's child, and would otherwise go on learning
   * beside the singleton's new incarnation and keep the store open.
   */
  private Behavior<Command> onPostStop() {
    String address = Cluster.get(getContext().getSystem()).selfMember().address().toString();
    events.accept("learner singleton stopped on " + address + " at version " + version
        + (finished ? "" : " (the run goes on where the singleton starts next)"));
    if (finished) {
      if (!checkpointing) {
        closeStore();
      }
      return this;
    }
    stopped.completeExceptionally(new IllegalStateException("the learner singleton on " + address + " stopped"));
    RecordStore s = store;
    store = null;
    CompletableFuture<Void> pending = deletions;
    if (s == null) {
      opening.thenAccept(o -> o.store().close()); // opened too late for this actor
    } else if (run == null) {
      pending.thenRun(s::close);
    } else {
      run.whenComplete((summary, e) -> pending.thenRun(s::close));
    }
    return this;
  }

  /** Closes the store once the checkpoint deletions under way, which use it, are done. */
  private void closeStore() {
    if (store != null) {
      RecordStore s = store;
      store = null;
      deletions.thenRun(s::close);
    }
  }
}
