package dev.cai.cluster.weights;

import com.google.protobuf.Message;
import dev.cai.actors.PublishedPolicy;
import dev.cai.cluster.AckWindow;
import dev.cai.protocol.v1.FetchPolicyVersion;
import dev.cai.protocol.v1.PolicyVersionAnnounced;
import dev.cai.protocol.v1.PolicyWeightsChunk;
import dev.cai.protocol.v1.WeightsChunkAck;
import dev.cai.protocol.v1.WeightsChunkDelivery;
import dev.cai.protocol.v1.WeightsFetchRefused;
import dev.cai.protocol.v1.WeightsServed;
import dev.cai.protocol.v1.WeightsSubscribe;
import dev.cai.runtime.Failures;
import dev.cai.runtime.weights.ModelWeights;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import org.apache.pekko.pattern.StatusReply;

/**
 * The learner side of weight shipping: holds the latest published policy version (cut into chunks), announces each
 * new one to every subscribed {@link WeightReplica}, and streams a version to a replica that fetches it, at most
 * {@code window} unacknowledged chunks at a time so Artery's outbound queue never fills.
 *
 * <p>Only the latest version is kept: a fetch of an older version, or one still running when a newer version is
 * published, is refused and the replica is told of the latest instead (it restarts on that one). Registered with the
 * Receptionist under {@link #KEY}; its remote messages are the {@code cai.v1} weights Protobuf messages.
 */
public final class WeightPublisher extends AbstractBehavior<WeightPublisher.Command> {
  /** The key a publisher registers under; its refs accept the replica's Protobuf messages. */
  public static final ServiceKey<Message> KEY = ServiceKey.create(Message.class, "cai-weight-publisher");

  /** Messages of the publisher. */
  public sealed interface Command {}

  /** Ship {@code weights} as policy version {@code version} (newer than the latest); acknowledged once announced. */
  public record Publish(long version, ModelWeights weights, ActorRef<StatusReply<Published>> replyTo)
      implements Command {}

  /** Version {@code version} is the latest, announced to {@code subscribers} replicas. */
  public record Published(long version, int chunks, long bytes, int subscribers) {}

  /** Report what the publisher holds and which version each replica serves. */
  public record GetStatus(ActorRef<Status> replyTo) implements Command {}

  /**
   * What a publisher holds: the latest version (-1 before the first publish), its subscribers, the fetches it is
   * streaming, and the version each replica last reported serving (by replica ref).
   */
  public record Status(long latestVersion, int subscribers, int fetches, Map<String, Long> served) {}

  private record Remote(Message message) implements Command {}

  private record Prepared(ChunkedVersion version, ActorRef<StatusReply<Published>> replyTo) implements Command {}

  private record PrepareFailed(long version, Throwable cause, ActorRef<StatusReply<Published>> replyTo)
      implements Command {}

  private record MemberRemoved(Address address) implements Command {}

  private enum Sweep implements Command { INSTANCE }

  /** A version being streamed to one replica. */
  private record Fetch(ActorRef<Message> replica, long id, ChunkedVersion version, AckWindow window) {}

  private final WeightShippingSettings settings;
  private final UnaryOperator<PolicyWeightsChunk> outgoing;
  private final Executor blocking;
  private final ActorRefResolver resolver;
  private final ActorRef<Message> self;
  private final String selfName;
  private final Map<String, ActorRef<Message>> subscribers = new HashMap<>();
  private final Map<String, Fetch> fetches = new HashMap<>();
  private final Map<String, Long> served = new TreeMap<>();
  private ChunkedVersion latest;

  /**
   * Starts a publisher in {@code system} with the system's {@code cai.cluster.weights} settings and returns the hook
   * that ships each version a learner publishes ({@code PublishedPolicy.onPublish}, {@code RlJob}'s remote policy).
   */
  public static Consumer<PublishedPolicy.Versioned> start(ActorSystem<?> system) {
    // supervised: an unexpected failure restarts it (with backoff); the next published version is announced afresh
    ActorRef<Command> publisher = system.systemActorOf(Behaviors.supervise(create(WeightShippingSettings.fromConfig(
        system.settings().config()))).onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1),
        Duration.ofSeconds(30), 0.2)), "weight-publisher", Props.empty());
    return v -> publisher.tell(new Publish(v.version(), v.weights(), system.ignoreRef()));
  }

  /** A publisher with {@code settings}, registered with the Receptionist. */
  public static Behavior<Command> create(WeightShippingSettings settings) {
    return create(settings, UnaryOperator.identity());
  }

  /** As {@link #create(WeightShippingSettings)}, with every outgoing chunk passed through {@code outgoing} (tests). */
  static Behavior<Command> create(WeightShippingSettings settings, UnaryOperator<PolicyWeightsChunk> outgoing) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new WeightPublisher(ctx, timers, settings, outgoing)));
  }

  private WeightPublisher(ActorContext<Command> ctx, TimerScheduler<Command> timers, WeightShippingSettings settings,
      UnaryOperator<PolicyWeightsChunk> outgoing) {
    super(ctx);
    this.settings = settings;
    this.outgoing = outgoing;
    this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
    this.resolver = ActorRefResolver.get(ctx.getSystem());
    this.self = ctx.messageAdapter(Message.class, Remote::new);
    this.selfName = resolver.toSerializationFormat(self);
    ctx.getSystem().receptionist().tell(Receptionist.register(KEY, self));
    Cluster.get(ctx.getSystem()).subscriptions().tell(Subscribe.create(
        ctx.messageAdapter(ClusterEvent.MemberRemoved.class, e -> new MemberRemoved(e.member().address())),
        ClusterEvent.MemberRemoved.class));
    timers.startTimerWithFixedDelay(Sweep.INSTANCE, settings.fetchTimeout());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Publish.class, this::onPublish)
        .onMessage(Prepared.class, this::onPrepared)
        .onMessage(PrepareFailed.class, this::onPrepareFailed)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(Remote.class, this::onRemote)
        .onMessage(MemberRemoved.class, this::onMemberRemoved)
        .onMessageEquals(Sweep.INSTANCE, this::onSweep)
        .build();
  }

  private Behavior<Command> onPublish(Publish p) {
    if (latest != null && p.version() <= latest.version()) {
      p.replyTo().tell(StatusReply.error("policy version " + p.version() + " is not newer than the published version "
          + latest.version()));
      return this;
    }
    // hashing hundreds of MB blocks: off the actor
    getContext().pipeToSelf(CompletableFuture.supplyAsync(
            () -> ChunkedVersion.split(p.version(), p.weights(), settings.chunkBytes()), blocking),
        (v, err) -> err == null ? new Prepared(v, p.replyTo()) : new PrepareFailed(p.version(), Failures.cause(err), p.replyTo()));
    return this;
  }

  private Behavior<Command> onPrepared(Prepared p) {
    if (latest != null && p.version().version() <= latest.version()) {
      p.replyTo().tell(StatusReply.error("policy version " + p.version().version() + " was overtaken by version "
          + latest.version() + " while it was being prepared"));
      return this;
    }
    latest = p.version();
    fetches.values().removeIf(f -> f.version().version() < latest.version()); // their replicas restart on the latest
    PolicyVersionAnnounced announcement = announcement();
    subscribers.values().forEach(r -> r.tell(announcement));
    getContext().getLog().info("weights: policy version {} published ({} bytes in {} chunks), announced to {} replicas",
        latest.version(), latest.manifest().getTotalBytes(), latest.chunkCount(), subscribers.size());
    p.replyTo().tell(StatusReply.success(new Published(latest.version(), latest.chunkCount(),
        latest.manifest().getTotalBytes(), subscribers.size())));
    return this;
  }

  private Behavior<Command> onPrepareFailed(PrepareFailed f) {
    getContext().getLog().error("weights: could not prepare policy version {}: {}", f.version(), f.cause().toString());
    f.replyTo().tell(StatusReply.error("could not prepare policy version " + f.version() + ": " + f.cause()));
    return this;
  }

  private Behavior<Command> onGetStatus(GetStatus g) {
    g.replyTo().tell(new Status(latest == null ? -1 : latest.version(), subscribers.size(), fetches.size(),
        Map.copyOf(served)));
    return this;
  }

  private Behavior<Command> onRemote(Remote r) {
    Message m = r.message();
    if (m instanceof WeightsChunkAck a) {
      onAck(a);
    } else if (m instanceof FetchPolicyVersion f) {
      onFetch(f);
    } else if (m instanceof WeightsSubscribe s) {
      onSubscribe(s);
    } else if (m instanceof WeightsServed s) {
      served.put(s.getReplica(), s.getVersion());
    } else {
      getContext().getLog().warn("weights: publisher ignores unexpected message {}", m.getDescriptorForType().getFullName());
    }
    return this;
  }

  private void onSubscribe(WeightsSubscribe s) {
    Optional<ActorRef<Message>> replica = resolve(s.getReplica());
    if (replica.isEmpty()) {
      return;
    }
    if (subscribers.put(s.getReplica(), replica.get()) == null) {
      getContext().getLog().info("weights: replica {} subscribed (serves policy version {})", s.getReplica(),
          s.getHaveVersion());
    }
    if (latest != null && latest.version() > s.getHaveVersion()) {
      replica.get().tell(announcement());
    }
  }

  private void onFetch(FetchPolicyVersion f) {
    Optional<ActorRef<Message>> replica = resolve(f.getReplica());
    if (replica.isEmpty()) {
      return;
    }
    fetches.remove(f.getReplica()); // a replica fetches one version at a time: a new fetch replaces its last
    if (latest == null || latest.version() != f.getVersion()) {
      String reason = latest == null ? "no policy version is published"
          : "policy version " + f.getVersion() + " is not the latest (" + latest.version() + "); only the latest is kept";
      replica.get().tell(WeightsFetchRefused.newBuilder().setFetchId(f.getFetchId()).setVersion(f.getVersion())
          .setLatestVersion(latest == null ? 0 : latest.version()).setReason(reason).build());
      if (latest != null) {
        replica.get().tell(announcement());
      }
      return;
    }
    int window = Math.max(1, Math.min(settings.window(), f.getWindow()));
    Fetch fetch = new Fetch(replica.get(), f.getFetchId(), latest, new AckWindow(latest.chunkCount(), window));
    fetches.put(f.getReplica(), fetch);
    getContext().getLog().debug("weights: streaming policy version {} to {} (fetch {}, window {})", f.getVersion(),
        f.getReplica(), f.getFetchId(), window);
    pump(fetch);
  }

  private void onAck(WeightsChunkAck a) {
    Fetch f = fetches.get(a.getReplica());
    if (f == null || f.id() != a.getFetchId()) {
      return; // an ack of a fetch that was replaced, dropped or superseded
    }
    f.window().ack(a.getSeq() + 1L);
    if (f.window().complete()) {
      fetches.remove(a.getReplica());
    } else {
      pump(f);
    }
  }

  /** Sends chunks while fewer than the window are unacknowledged. */
  private void pump(Fetch f) {
    f.window().fill(seq -> f.replica().tell(WeightsChunkDelivery.newBuilder().setFetchId(f.id()).setSeq((int) seq)
        .setChunk(outgoing.apply(f.version().chunk((int) seq))).build()));
  }

  private Behavior<Command> onMemberRemoved(MemberRemoved m) {
    subscribers.values().removeIf(r -> r.path().address().equals(m.address()));
    fetches.values().removeIf(f -> f.replica().path().address().equals(m.address()));
    served.keySet().removeIf(name -> !subscribers.containsKey(name));
    return this;
  }

  private Behavior<Command> onSweep() {
    fetches.values().removeIf(f -> f.window().silentLongerThan(settings.fetchTimeout()));
    return this;
  }

  private PolicyVersionAnnounced announcement() {
    return PolicyVersionAnnounced.newBuilder().setManifest(latest.manifest()).setPublisher(selfName).build();
  }

  private Optional<ActorRef<Message>> resolve(String ref) {
    try {
      return Optional.of(resolver.resolveActorRef(ref));
    } catch (RuntimeException e) {
      getContext().getLog().warn("weights: ignoring a message from replica '{}': not an actor ref ({})", ref,
          e.getMessage());
      return Optional.empty();
    }
  }
}
