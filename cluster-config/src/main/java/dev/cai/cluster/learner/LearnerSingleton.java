package dev.cai.cluster.learner;

import dev.cai.persistence.CheckpointInfo;
import dev.cai.persistence.RecordStore;
import dev.cai.persistence.StoreSettings;
import dev.cai.protocol.v1.LearnerStateHeader;
import dev.cai.streams.RlJob;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * The RL learner as a cluster singleton: on the node where it starts it opens the store the failover rule picks
 * ({@link LearnerStores}: its own or the newest shipped checkpoint, whichever is newer), runs the {@link RlJob} on it
 * (which resumes exactly from the store), and every {@code ship-every} updates (at a learner commit) takes a RocksDB
 * checkpoint of the store and hands it to its {@link CheckpointShipper}; a last one is shipped when the run ends.
 */
public final class LearnerSingleton extends AbstractBehavior<LearnerSingleton.Command> {
  public sealed interface Command {}

  private record Opened(LearnerStores.Opened opened) implements Command {}

  private record Progressed(RlJob.Progress progress) implements Command {}

  private record Checkpointed(String id, long version, CheckpointInfo info, long millis) implements Command {}

  private record Finished(RlJob.Summary summary) implements Command {}

  private record Failed(String what, Throwable cause) implements Command {}

  private final LearnerJob job;
  private final LearnerHaSettings settings;
  private final ShippedCheckpoints shipped;
  private final Consumer<String> events;
  private final ActorRef<CheckpointShipper.Command> shipper;
  private final Executor blocking;
  private RecordStore store;
  private long lastCheckpointVersion;
  private boolean checkpointing;
  private boolean finished;
  private long version;

  private LearnerSingleton(ActorContext<Command> ctx, LearnerJob job, LearnerHaSettings settings,
      ShippedCheckpoints shipped, Consumer<String> events) {
    super(ctx);
    this.job = job;
    this.settings = settings;
    this.shipped = shipped;
    this.events = events;
    this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
    this.shipper = ctx.spawn(CheckpointShipper.create(settings, events), "shipper", DispatcherSelector.blocking());
  }

  public static Behavior<Command> create(LearnerJob job, LearnerHaSettings settings, ShippedCheckpoints shipped,
      Consumer<String> events) {
    return Behaviors.setup(ctx -> {
      LearnerSingleton s = new LearnerSingleton(ctx, job, settings, shipped, events);
      events.accept("learner singleton starting on " + Cluster.get(ctx.getSystem()).selfMember().address());
      ctx.pipeToSelf(CompletableFuture.supplyAsync(() -> LearnerStores.open(settings.dir(), shipped,
          StoreSettings.defaults(), events), s.blocking), (opened, e) -> e == null ? new Opened(opened)
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
        .onMessage(Failed.class, this::onFailed)
        .onSignal(PostStop.class, s -> onPostStop())
        .build();
  }

  private Behavior<Command> onOpened(Opened o) {
    store = o.opened().store();
    version = o.opened().version();
    lastCheckpointVersion = version;
    events.accept("learner resumes from " + o.opened().describe());
    ActorRef<Command> self = getContext().getSelf();
    getContext().pipeToSelf(RlJob.run(getContext().getSystem(), store, job.config(), p -> self.tell(new Progressed(p))),
        (summary, e) -> e == null ? new Finished(summary) : new Failed("the RL job", e));
    return this;
  }

  private Behavior<Command> onProgressed(RlJob.Progress p) {
    version = p.learned().version();
    events.accept("update " + version + (p.replayed() ? " (replayed)" : ""));
    p.learned().commit().ifPresent(c -> {
      events.accept("committed " + c.version());
      if (c.version() >= lastCheckpointVersion + settings.shipEvery()) {
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
    lastCheckpointVersion = Math.max(lastCheckpointVersion, c.version());
    events.accept("checkpoint " + c.id() + " version " + c.version() + " taken in " + c.millis() + " ms");
    shipper.tell(new CheckpointShipper.Ship(c.id(), c.version(), c.info().path()));
    if (finished) {
      closeStore();
    }
    return this;
  }

  private Behavior<Command> onFinished(Finished f) {
    finished = true;
    version = f.summary().version();
    events.accept("done " + StateDigest.of(store) + " (started at " + f.summary().startVersion() + ", "
        + f.summary().replayedBatches() + " batches replayed)");
    if (StateDigest.of(store).version() > lastCheckpointVersion && !checkpointing) {
      checkpoint(); // the standbys get the final state too; the store closes once it is taken
    } else if (!checkpointing) {
      closeStore();
    }
    return this;
  }

  private Behavior<Command> onFailed(Failed f) {
    checkpointing = false;
    Throwable cause = f.cause() instanceof java.util.concurrent.CompletionException && f.cause().getCause() != null
        ? f.cause().getCause() : f.cause();
    getContext().getLog().error("learner: {} failed", f.what(), cause);
    events.accept("failed: " + f.what() + ": " + cause);
    return this;
  }

  private Behavior<Command> onPostStop() {
    events.accept("learner singleton stopped on " + Cluster.get(getContext().getSystem()).selfMember().address()
        + " at version " + version + (finished ? "" : " (the run goes on where the singleton starts next)"));
    if (finished && !checkpointing) {
      closeStore();
    }
    return this;
  }

  private void closeStore() {
    if (store != null) {
      store.close();
      store = null;
    }
  }
}
