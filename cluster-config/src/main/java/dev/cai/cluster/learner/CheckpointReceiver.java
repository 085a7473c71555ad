package dev.cai.cluster.learner;

import com.google.protobuf.Message;
import dev.cai.protocol.v1.CheckpointAck;
import dev.cai.protocol.v1.CheckpointChunk;
import dev.cai.protocol.v1.CheckpointOffer;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * A learner node's standby side of failover: receives the checkpoints the active learner ships ({@link CheckpointOffer},
 * then {@link CheckpointChunk}s in order), acknowledges every chunk ({@link CheckpointAck}, the sender's flow control),
 * installs a checkpoint only when every file matches its SHA-256 and keeps the newest few. A corrupt or incomplete
 * transfer is discarded with a log line naming the checkpoint and the file. Its protocol is the Protobuf messages
 * themselves (they cross nodes); file work is blocking, so it runs on the blocking dispatcher.
 */
public final class CheckpointReceiver extends AbstractBehavior<Message> {
  /** Every learner node's receiver registers under this key; the active learner ships to all but its own. */
  public static final ServiceKey<Message> KEY = ServiceKey.create(Message.class, "cai-learner-checkpoints");

  private final ShippedCheckpoints shipped;
  private final int keep;
  private final Consumer<String> events;
  private final String self;
  private CheckpointAssembly current;
  private ActorRef<CheckpointAck> replyTo;
  private long startNanos;

  private CheckpointReceiver(ActorContext<Message> ctx, ShippedCheckpoints shipped, int keep, Consumer<String> events) {
    super(ctx);
    this.shipped = shipped;
    this.keep = keep;
    this.events = events;
    this.self = Cluster.get(ctx.getSystem()).selfMember().address().toString();
  }

  /** A receiver installing into {@code shipped}, keeping {@code keep} checkpoints, registered under {@link #KEY}. */
  public static Behavior<Message> create(ShippedCheckpoints shipped, int keep, Consumer<String> events) {
    return Behaviors.setup(ctx -> {
      List<String> leftovers = shipped.cleanIncoming();
      if (!leftovers.isEmpty()) {
        events.accept("discarded incomplete checkpoint transfer(s) " + leftovers + " left in " + shipped.root());
      }
      ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
      return new CheckpointReceiver(ctx, shipped, keep, events);
    });
  }

  @Override
  public Receive<Message> createReceive() {
    return newReceiveBuilder()
        .onMessage(CheckpointOffer.class, this::onOffer)
        .onMessage(CheckpointChunk.class, this::onChunk)
        .build();
  }

  private Behavior<Message> onOffer(CheckpointOffer offer) {
    ActorRef<CheckpointAck> sender;
    try {
      sender = ActorRefResolver.get(getContext().getSystem()).resolveActorRef(offer.getReplyTo());
    } catch (RuntimeException e) {
      getContext().getLog().warn("ignored the offer of checkpoint {} from {}: bad reply address '{}': {}",
          offer.getCheckpointId(), offer.getSender(), offer.getReplyTo(), e.getMessage());
      return this;
    }
    if (current != null) {
      discard("superseded by checkpoint " + offer.getCheckpointId() + " from " + offer.getSender());
    }
    try {
      current = shipped.begin(offer);
      replyTo = sender;
      startNanos = System.nanoTime();
    } catch (CheckpointAssembly.Rejected e) {
      reject(sender, offer.getCheckpointId(), e.getMessage());
      return this;
    }
    if (current.allReceived()) {
      install();
    } else {
      ack(0);
    }
    return this;
  }

  private Behavior<Message> onChunk(CheckpointChunk chunk) {
    if (current == null || !current.offer().getCheckpointId().equals(chunk.getCheckpointId())) {
      getContext().getLog().debug("ignored chunk {} of checkpoint {}: no transfer of it in progress", chunk.getSeq(),
          chunk.getCheckpointId());
      return this;
    }
    try {
      current.accept(chunk);
    } catch (CheckpointAssembly.Rejected e) {
      current.discard();
      current = null;
      reject(replyTo, chunk.getCheckpointId(), e.getMessage());
      return this;
    }
    if (current.allReceived()) {
      install();
    } else {
      ack(current.nextSeq());
    }
    return this;
  }

  private void install() {
    CheckpointAssembly a = current;
    current = null;
    CheckpointOffer o = a.offer();
    try {
      ShippedCheckpoints.Installed installed = a.install();
      List<String> pruned = shipped.prune(keep, events);
      long bytes = o.getFilesList().stream().mapToLong(f -> f.getSize()).sum();
      events.accept(String.format(Locale.ROOT,
          "installed checkpoint %s version %d (%d files, %d bytes, %d chunks) from %s in %d ms%s", installed.id(),
          o.getVersion(), o.getFilesCount(), bytes, o.getChunkCount(), o.getSender(), (System.nanoTime() - startNanos) / 1_000_000,
          pruned.isEmpty() ? "" : "; removed older " + pruned));
      replyTo.tell(CheckpointAck.newBuilder().setCheckpointId(o.getCheckpointId()).setNextSeq(a.nextSeq())
          .setComplete(true).setReceiver(self).build());
    } catch (CheckpointAssembly.Rejected e) {
      a.discard();
      reject(replyTo, o.getCheckpointId(), e.getMessage());
    }
  }

  private void ack(long next) {
    replyTo.tell(CheckpointAck.newBuilder().setCheckpointId(current.offer().getCheckpointId()).setNextSeq(next)
        .setReceiver(self).build());
  }

  private void discard(String why) {
    getContext().getLog().warn("discarded incomplete checkpoint {} ({} of {} chunks): {}",
        current.offer().getCheckpointId(), current.nextSeq(), current.offer().getChunkCount(), why);
    events.accept("discarded incomplete checkpoint " + current.offer().getCheckpointId() + ": " + why);
    current.discard();
    current = null;
  }

  private void reject(ActorRef<CheckpointAck> to, String id, String problem) {
    getContext().getLog().warn("discarded {}", problem);
    events.accept("discarded " + problem);
    to.tell(CheckpointAck.newBuilder().setCheckpointId(id).setError(problem).setReceiver(self).build());
  }
}
