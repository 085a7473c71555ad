package dev.cai.cluster.learner;

import com.google.protobuf.Message;
import dev.cai.cluster.AckWindow;
import dev.cai.cluster.ClusterRole;
import dev.cai.protocol.v1.CheckpointAck;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * The active learner's side of failover: ships each checkpoint it is given to every other learner node's
 * {@link CheckpointReceiver} (found through the Receptionist): an offer, then chunks with at most {@code window}
 * unacknowledged per standby, so Artery is never flooded. A standby busy with an older checkpoint gets the newest one
 * when it finishes; one silent for {@code ackTimeout} is given up (until the next checkpoint). A checkpoint no transfer
 * needs any more, except the newest, is {@link Released} to the store that took it (the shipper never deletes one: the
 * store lists its checkpoints in an index). Reads files, so it runs on the blocking dispatcher.
 */
public final class CheckpointShipper extends AbstractBehavior<CheckpointShipper.Command> {
  public sealed interface Command {}

  /** Ship the RocksDB checkpoint in {@code dir}, holding the learner state committed at {@code version}. */
  public record Ship(String id, long version, Path dir) implements Command {}

  /**
   * Reply {@link Delivered} once every standby known now holds a checkpoint of at least {@code version}, or has none
   * in transfer (it left, failed or timed out: waiting for it would stall the learner for nothing).
   */
  public record AwaitDelivered(long version, ActorRef<Delivered> replyTo) implements Command {}

  /** The answer to {@link AwaitDelivered}. */
  public record Delivered(long version) {}

  /**
   * Told, before any {@link Delivered} that follows, of each checkpoint the shipper no longer reads: a newer one was
   * given and no transfer needs it; its owner may delete it.
   */
  public record Released(String id) {}

  private record ReceiversChanged(Set<ActorRef<Message>> receivers) implements Command {}

  private record Acked(CheckpointAck ack) implements Command {}

  private enum CheckTimeouts implements Command { INSTANCE }

  /** One transfer to one standby; chunks go out once the standby accepts the offer (acknowledges chunk 0). */
  private record Transfer(ActorRef<Message> to, CheckpointChunker checkpoint, AckWindow window, long startNanos) {
    Transfer(ActorRef<Message> to, CheckpointChunker checkpoint, int window) {
      this(to, checkpoint, new AckWindow(checkpoint.chunkCount(), window), System.nanoTime());
    }
  }

  private final LearnerHaSettings settings;
  private final Consumer<String> events;
  private final ActorRef<Released> released;
  private final Address self;
  private final String replyTo;
  private final Map<String, ActorRef<Message>> receivers = new HashMap<>();
  private final Map<String, Transfer> transfers = new HashMap<>();
  private final Set<CheckpointChunker> local = new HashSet<>();
  private final Map<String, Long> delivered = new HashMap<>();
  private final List<AwaitDelivered> waiting = new ArrayList<>();
  private CheckpointChunker latest;
  private final long startedNanos = System.nanoTime();

  private CheckpointShipper(ActorContext<Command> ctx, LearnerHaSettings settings, Consumer<String> events,
      ActorRef<Released> released) {
    super(ctx);
    this.settings = settings;
    this.events = events;
    this.released = released;
    this.self = Cluster.get(ctx.getSystem()).selfMember().address();
    ActorRef<CheckpointAck> acks = ctx.messageAdapter(CheckpointAck.class, Acked::new);
    this.replyTo = ActorRefResolver.get(ctx.getSystem()).toSerializationFormat(acks);
  }

  /** A shipper telling {@code released} of each checkpoint it no longer reads. */
  public static Behavior<Command> create(LearnerHaSettings settings, Consumer<String> events,
      ActorRef<Released> released) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      ActorRef<Receptionist.Listing> listings = ctx.messageAdapter(Receptionist.Listing.class,
          l -> new ReceiversChanged(l.getServiceInstances(CheckpointReceiver.KEY)));
      ctx.getSystem().receptionist().tell(Receptionist.subscribe(CheckpointReceiver.KEY, listings));
      Duration tick = settings.ackTimeout().dividedBy(4).compareTo(Duration.ofSeconds(1)) < 0
          ? settings.ackTimeout().dividedBy(4) : Duration.ofSeconds(1);
      timers.startTimerWithFixedDelay(CheckTimeouts.INSTANCE, tick);
      return new CheckpointShipper(ctx, settings, events, released);
    }));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Ship.class, this::onShip)
        .onMessage(AwaitDelivered.class, this::onAwaitDelivered)
        .onMessage(ReceiversChanged.class, this::onReceiversChanged)
        .onMessage(Acked.class, a -> onAck(a.ack()))
        .onMessageEquals(CheckTimeouts.INSTANCE, this::onCheckTimeouts)
        .build();
  }

  private Behavior<Command> onShip(Ship s) {
    try {
      latest = new CheckpointChunker(s.id(), s.version(), s.dir(), settings.chunkSize());
    } catch (RuntimeException e) {
      getContext().getLog().warn("cannot ship checkpoint {}: {}", s.id(), e.getMessage());
      events.accept("cannot ship checkpoint " + s.id() + ": " + e.getMessage());
      return this;
    }
    local.add(latest);
    receivers.forEach((address, ref) -> {
      if (!transfers.containsKey(address)) {
        start(address, ref);
      }
    });
    settle();
    return this;
  }

  private Behavior<Command> onAwaitDelivered(AwaitDelivered a) {
    waiting.add(a);
    answerWaiting();
    return this;
  }

  /** Answers the waiters whose version every standby has, or that no transfer in progress could still deliver. */
  private void answerWaiting() {
    if (standbysPending()) {
      return; // a standby is Up but its receiver not listed yet: the bound counts it (re-checked every tick)
    }
    waiting.removeIf(a -> {
      boolean done = receivers.keySet().stream()
          .allMatch(r -> delivered.getOrDefault(r, -1L) >= a.version() || !transfers.containsKey(r));
      if (done) {
        a.replyTo().tell(new Delivered(a.version()));
      }
      return done;
    });
  }

  private Behavior<Command> onReceiversChanged(ReceiversChanged c) {
    Map<String, ActorRef<Message>> now = new HashMap<>();
    for (ActorRef<Message> r : c.receivers()) {
      Address a = r.path().address();
      if (a.hasGlobalScope() && !a.equals(self)) {
        now.put(a.toString(), r);
      }
    }
    for (String gone : Set.copyOf(receivers.keySet())) {
      if (!now.containsKey(gone)) {
        receivers.remove(gone);
        Transfer t = transfers.remove(gone);
        if (t != null) {
          events.accept("stopped shipping checkpoint " + t.checkpoint().id() + " to " + gone + ": it left the cluster");
        }
      }
    }
    now.forEach((address, ref) -> {
      if (receivers.put(address, ref) == null && latest != null && !transfers.containsKey(address)) {
        start(address, ref);
      }
    });
    settle();
    return this;
  }

  private Behavior<Command> onAck(CheckpointAck ack) {
    Transfer t = transfers.get(ack.getReceiver());
    if (t == null || !t.checkpoint().id().equals(ack.getCheckpointId())) {
      return this; // a late answer about a transfer given up
    }
    if (!ack.getError().isEmpty()) {
      getContext().getLog().warn("standby {} discarded {}", ack.getReceiver(), ack.getError());
      events.accept("standby " + ack.getReceiver() + " discarded " + ack.getError());
      finish(ack.getReceiver());
    } else if (ack.getComplete()) {
      double ms = (System.nanoTime() - t.startNanos()) / 1e6;
      events.accept(String.format(Locale.ROOT, "shipped checkpoint %s version %d (%d files, %d bytes, %d chunks) to %s "
              + "in %.0f ms", t.checkpoint().id(), t.checkpoint().version(), t.checkpoint().files(), t.checkpoint().bytes(),
          t.checkpoint().chunkCount(), ack.getReceiver(), ms));
      delivered.merge(ack.getReceiver(), t.checkpoint().version(), Math::max);
      finish(ack.getReceiver());
    } else {
      t.window().ack(ack.getNextSeq());
      try {
        t.window().fill(seq -> t.to().tell(t.checkpoint().chunk(seq)));
      } catch (RuntimeException e) {
        getContext().getLog().warn("stopped shipping checkpoint {}: {}", t.checkpoint().id(), e.getMessage());
        events.accept("stopped shipping checkpoint " + t.checkpoint().id() + " to " + ack.getReceiver() + ": "
            + e.getMessage());
        transfers.remove(ack.getReceiver());
        settle();
      }
    }
    return this;
  }

  private Behavior<Command> onCheckTimeouts() {
    for (Map.Entry<String, Transfer> e : Map.copyOf(transfers).entrySet()) {
      Transfer t = e.getValue();
      if (t.window().silentLongerThan(settings.ackTimeout())) {
        events.accept("gave up shipping checkpoint " + t.checkpoint().id() + " to " + e.getKey() + ": no answer for "
            + settings.ackTimeout().toSeconds() + " s (" + t.window().acked() + " of " + t.checkpoint().chunkCount()
            + " chunks acknowledged)");
        transfers.remove(e.getKey());
      }
    }
    settle();
    return this;
  }

  private void start(String address, ActorRef<Message> to) {
    transfers.put(address, new Transfer(to, latest, settings.window()));
    to.tell(latest.offer(replyTo, self.toString()));
  }

  /** Ends the transfer to {@code address}; the standby then gets the newest checkpoint if it lacks it. */
  private void finish(String address) {
    Transfer done = transfers.remove(address);
    ActorRef<Message> to = receivers.get(address);
    if (to != null && latest != null && done != null && done.checkpoint() != latest) {
      start(address, to);
    }
    settle();
  }

  /**
   * Whether a learner member other than this node is Up but the Receptionist has not listed its receiver yet (it
   * registers as the node starts; the listing follows within seconds), for at most {@code ack-timeout} after this
   * shipper started: until then the bound would otherwise ignore a standby the cluster already has.
   */
  private boolean standbysPending() {
    if (System.nanoTime() - startedNanos > settings.ackTimeout().toNanos()) {
      return false;
    }
    for (Member m : Cluster.get(getContext().getSystem()).state().getMembers()) {
      if (m.status() == MemberStatus.up() && m.hasRole(ClusterRole.LEARNER.id()) && !m.address().equals(self)
          && !receivers.containsKey(m.address().toString())) {
        return true;
      }
    }
    return false;
  }

  /**
   * After any change: releases the checkpoints no transfer reads (except the newest), then answers the waiters, so
   * that a waiter hears of every release before its answer.
   */
  private void settle() {
    for (CheckpointChunker c : Set.copyOf(local)) {
      if (c != latest && transfers.values().stream().noneMatch(t -> t.checkpoint() == c)) {
        local.remove(c);
        released.tell(new Released(c.id()));
      }
    }
    answerWaiting();
  }
}
