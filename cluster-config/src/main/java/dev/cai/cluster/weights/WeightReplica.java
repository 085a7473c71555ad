package dev.cai.cluster.weights;

import com.google.protobuf.Message;
import dev.cai.actors.PolicyActor;
import dev.cai.actors.PublishedPolicy;
import dev.cai.protocol.v1.FetchPolicyVersion;
import dev.cai.protocol.v1.PolicyVersionAnnounced;
import dev.cai.protocol.v1.WeightsChunkAck;
import dev.cai.protocol.v1.WeightsChunkDelivery;
import dev.cai.protocol.v1.WeightsFetchRefused;
import dev.cai.protocol.v1.WeightsServed;
import dev.cai.protocol.v1.WeightsSubscribe;
import dev.cai.runtime.Failures;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.weights.ModelWeights;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * The policy-node side of weight shipping: finds the {@link WeightPublisher} through the Receptionist, subscribes,
 * and fetches each announced version newer than the one it serves. Only the latest announcement counts: a replica
 * that joins late or missed versions fetches the latest directly, and a newer announcement during a fetch restarts
 * the fetch on it. A chunk that fails validation (see {@link WeightAssembler}) or a fetch that stalls discards the
 * version and fetches it again, up to {@code max-attempts} times. An assembled version goes to the node's
 * {@link PublishedPolicy} and, through {@link PolicyActor.UpdateWeights}, to every local policy actor; once all of
 * them serve it the replica marks it served and reports it to the publisher.
 */
public final class WeightReplica extends AbstractBehavior<WeightReplica.Command> {
  /** The name a node gives its replica actor. */
  public static final String NAME = "weight-replica";

  /**
   * The Artery large-message destination of a replica spawned as {@code /system/}{@value #NAME} (as {@link #start}
   * does, and {@code cai node}): its remote-facing ref
   * is a child of the actor. Listed in {@code pekko.remote.artery.large-message-destinations} on every node, chunks
   * travel on their own connection instead of delaying other messages, and may be up to
   * {@code maximum-large-frame-size} (2 MiB by default).
   */
  public static final String LARGE_MESSAGE_DESTINATION = "/system/" + NAME + "/*";

  /** Messages of the replica. */
  public sealed interface Command {}

  /** Report what the replica serves and fetches. */
  public record GetStatus(ActorRef<Status> replyTo) implements Command {}

  /**
   * What a replica does: the version its policy actors serve, the version it fetches (-1: none) with chunks received
   * of the total, the failed fetches so far and the last failure's message.
   */
  public record Status(long servedVersion, long fetchingVersion, int received, int chunks, int failures,
      Optional<String> lastFailure) {}

  private record Remote(Message message) implements Command {}

  private record PublishersListed(Set<ActorRef<Message>> publishers) implements Command {}

  private record Applied(long version) implements Command {}

  private record ApplyFailed(long version, Throwable cause) implements Command {}

  private record FetchTimedOut(long fetchId) implements Command {}

  /** The newest version announced: what the replica wants to serve. */
  private record Target(PolicyVersionAnnounced announcement, ActorRef<Message> publisher) {
    long version() {
      return announcement.getManifest().getVersion();
    }
  }

  /** A fetch in flight. */
  private record Fetch(long id, ActorRef<Message> publisher, String publisherName, WeightAssembler assembler) {}

  private static final String FETCH_TIMER = "fetch";

  private final WeightShippingSettings settings;
  private final List<ActorRef<PolicyActor.Command>> policies;
  private final PublishedPolicy published;
  private final Optional<LlamaConfig> expectedConfig;
  private final TimerScheduler<Command> timers;
  private final ActorRefResolver resolver;
  private final String selfName;
  private Set<ActorRef<Message>> publishers = Set.of();
  private long served;
  private long applying = -1;
  private Target target;
  private int attempts;
  private Fetch fetch;
  private long nextFetchId = 1;
  private int failures;
  private String lastFailure;

  /**
   * Starts the replica of a policy node in {@code system} ({@code /system/}{@value #NAME}, the system's
   * {@code cai.cluster.weights} settings): it keeps {@code policy} and {@code published} at the learner's latest
   * version.
   */
  public static ActorRef<Command> start(ActorSystem<?> system, ActorRef<PolicyActor.Command> policy,
      PublishedPolicy published) {
    // supervised: an unexpected failure restarts it (with backoff) at the version the node serves, and it fetches anew
    return system.systemActorOf(Behaviors.supervise(create(WeightShippingSettings.fromConfig(system.settings().config()),
        List.of(policy), published, Optional.empty())).onFailure(SupervisorStrategy.restartWithBackoff(
        Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2)), NAME, Props.empty());
  }

  /**
   * A replica that applies the versions it fetches to {@code policies} and {@code published} (it starts at
   * {@code published.served()}); {@code expectedConfig}, when present, is the local policy model's config, and a
   * version of another config is refused before any chunk is fetched.
   */
  public static Behavior<Command> create(WeightShippingSettings settings, List<ActorRef<PolicyActor.Command>> policies,
      PublishedPolicy published, Optional<LlamaConfig> expectedConfig) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new WeightReplica(ctx, timers, settings, policies, published, expectedConfig)));
  }

  private WeightReplica(ActorContext<Command> ctx, TimerScheduler<Command> timers, WeightShippingSettings settings,
      List<ActorRef<PolicyActor.Command>> policies, PublishedPolicy published, Optional<LlamaConfig> expectedConfig) {
    super(ctx);
    this.settings = settings;
    this.policies = List.copyOf(policies);
    this.published = published;
    this.expectedConfig = expectedConfig;
    this.timers = timers;
    this.resolver = ActorRefResolver.get(ctx.getSystem());
    this.selfName = resolver.toSerializationFormat(ctx.messageAdapter(Message.class, Remote::new));
    this.served = published.served();
    ctx.getSystem().receptionist().tell(Receptionist.subscribe(WeightPublisher.KEY, ctx.messageAdapter(
        Receptionist.Listing.class, l -> new PublishersListed(l.getServiceInstances(WeightPublisher.KEY)))));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Remote.class, this::onRemote)
        .onMessage(PublishersListed.class, this::onPublishersListed)
        .onMessage(Applied.class, this::onApplied)
        .onMessage(ApplyFailed.class, this::onApplyFailed)
        .onMessage(FetchTimedOut.class, this::onFetchTimedOut)
        .onMessage(GetStatus.class, this::onGetStatus)
        .build();
  }

  private Behavior<Command> onRemote(Remote r) {
    Message m = r.message();
    if (m instanceof WeightsChunkDelivery d) {
      onDelivery(d);
    } else if (m instanceof PolicyVersionAnnounced a) {
      onAnnounced(a);
    } else if (m instanceof WeightsFetchRefused f) {
      onRefused(f);
    } else {
      getContext().getLog().warn("weights: replica ignores unexpected message {}", m.getDescriptorForType().getFullName());
    }
    return this;
  }

  private Behavior<Command> onPublishersListed(PublishersListed l) {
    Set<ActorRef<Message>> added = new HashSet<>(l.publishers());
    added.removeAll(publishers);
    publishers = l.publishers();
    for (ActorRef<Message> p : added) {
      getContext().getLog().info("weights: subscribing to publisher {} (serving policy version {})", p, served);
      p.tell(WeightsSubscribe.newBuilder().setReplica(selfName).setHaveVersion(served).build());
    }
    if (target != null && !publishers.contains(target.publisher())) {
      target = null; // a remaining or new publisher announces its latest version on subscribe
    }
    if (fetch != null && !publishers.contains(fetch.publisher())) {
      fail("publisher " + fetch.publisherName() + " left during the fetch of policy version "
          + fetch.assembler().version(), false);
    }
    return this;
  }

  private void onAnnounced(PolicyVersionAnnounced a) {
    long version = a.getManifest().getVersion();
    if (version <= served || version <= applying || (target != null && version < target.version())) {
      return; // not newer than what the replica serves or already wants
    }
    ActorRef<Message> publisher;
    try {
      publisher = resolver.resolveActorRef(a.getPublisher());
    } catch (RuntimeException e) {
      getContext().getLog().warn("weights: ignoring an announcement of policy version {}: publisher '{}' is not an"
          + " actor ref ({})", version, a.getPublisher(), e.getMessage());
      return;
    }
    if (target == null || version > target.version()) {
      attempts = 0;
    }
    target = new Target(a, publisher);
    if (fetch != null && fetch.assembler().version() < version) {
      getContext().getLog().info("weights: policy version {} announced during the fetch of version {}: restarting on"
          + " the latest", version, fetch.assembler().version());
      timers.cancel(FETCH_TIMER);
      fetch = null;
    }
    fetchIfIdle();
  }

  /** Starts fetching the target version if nothing is being fetched or applied and attempts are left. */
  private void fetchIfIdle() {
    if (fetch != null || applying >= 0 || target == null || target.version() <= served || attempts >= settings.maxAttempts()) {
      return;
    }
    String publisherName = target.announcement().getPublisher();
    WeightAssembler assembler;
    try {
      assembler = new WeightAssembler(target.announcement().getManifest(), publisherName);
      expectedConfig.ifPresent(c -> checkConfig(c, assembler));
    } catch (WeightsRejectedException e) {
      attempts = settings.maxAttempts(); // fetching a bad manifest again cannot help: wait for the next version
      recordFailure(e.getMessage());
      return;
    }
    fetch = new Fetch(nextFetchId++, target.publisher(), publisherName, assembler);
    getContext().getLog().info("weights: fetching policy version {} ({} bytes in {} chunks) from {} (attempt {})",
        assembler.version(), assembler.manifest().getTotalBytes(), assembler.manifest().getChunkCount(), publisherName,
        attempts + 1);
    timers.startSingleTimer(FETCH_TIMER, new FetchTimedOut(fetch.id()), settings.fetchTimeout());
    fetch.publisher().tell(FetchPolicyVersion.newBuilder().setReplica(selfName).setFetchId(fetch.id())
        .setVersion(assembler.version()).setWindow(settings.window()).build());
  }

  private static void checkConfig(LlamaConfig expected, WeightAssembler a) {
    if (!WeightManifests.fingerprint(expected).equals(a.manifest().getConfigFingerprint())) {
      throw new WeightsRejectedException("policy version " + a.version() + " is a model of config "
          + WeightManifests.fromProto(a.manifest().getConfig()) + " but this node's policy is " + expected);
    }
  }

  private void onDelivery(WeightsChunkDelivery d) {
    if (fetch == null || d.getFetchId() != fetch.id()) {
      return; // left over from a fetch that was restarted or abandoned
    }
    try {
      fetch.assembler().accept(d.getChunk());
    } catch (WeightsRejectedException e) {
      fail(e.getMessage(), true);
      return;
    }
    fetch.publisher().tell(WeightsChunkAck.newBuilder().setReplica(selfName).setFetchId(fetch.id())
        .setSeq(d.getSeq()).build());
    if (fetch.assembler().isComplete()) {
      timers.cancel(FETCH_TIMER);
      WeightAssembler done = fetch.assembler();
      fetch = null;
      apply(done.version(), done.weights());
    } else {
      timers.startSingleTimer(FETCH_TIMER, new FetchTimedOut(fetch.id()), settings.fetchTimeout());
    }
  }

  private void onRefused(WeightsFetchRefused r) {
    if (fetch == null || r.getFetchId() != fetch.id()) {
      return;
    }
    getContext().getLog().info("weights: publisher {} refused the fetch of policy version {}: {}",
        fetch.publisherName(), r.getVersion(), r.getReason());
    timers.cancel(FETCH_TIMER);
    fetch = null;
    if (target != null && target.version() <= r.getVersion()) {
      target = null; // superseded or gone: the publisher announces its latest
    }
  }

  private Behavior<Command> onFetchTimedOut(FetchTimedOut t) {
    if (fetch != null && fetch.id() == t.fetchId()) {
      fail("no chunk of policy version " + fetch.assembler().version() + " from " + fetch.publisherName() + " for "
          + settings.fetchTimeout().toMillis() + " ms (" + fetch.assembler().received() + " of "
          + fetch.assembler().manifest().getChunkCount() + " chunks received)", true);
    }
    return this;
  }

  /** Discards the running fetch; counts a failed attempt when {@code attempt}; fetches again if attempts are left. */
  private void fail(String message, boolean attempt) {
    timers.cancel(FETCH_TIMER);
    fetch = null;
    if (attempt) {
      attempts++;
      recordFailure(message + (attempts < settings.maxAttempts() ? "; fetching it again (attempt " + (attempts + 1)
          + " of " + settings.maxAttempts() + ")" : "; giving up on this version until a newer one is announced"));
    } else {
      getContext().getLog().warn("weights: {}", message);
    }
    fetchIfIdle();
  }

  private void recordFailure(String message) {
    failures++;
    lastFailure = message;
    getContext().getLog().error("weights: {}", message);
  }

  /** Publishes the version on this node and has every local policy actor load it. */
  private void apply(long version, ModelWeights weights) {
    applying = version;
    CompletableFuture<Void> all;
    try {
      published.publish(version, weights);
      List<CompletableFuture<PolicyActor.WeightsUpdated>> acks = new ArrayList<>();
      for (ActorRef<PolicyActor.Command> p : policies) {
        acks.add(AskPattern.<PolicyActor.Command, PolicyActor.WeightsUpdated>askWithStatus(p,
            replyTo -> new PolicyActor.UpdateWeights(version, weights, replyTo), settings.applyTimeout(),
            getContext().getSystem().scheduler()).toCompletableFuture());
      }
      all = CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new));
    } catch (RuntimeException e) {
      all = CompletableFuture.failedFuture(e);
    }
    getContext().pipeToSelf(all, (ok, err) -> err == null ? new Applied(version) : new ApplyFailed(version, Failures.cause(err)));
  }

  private Behavior<Command> onApplied(Applied a) {
    applying = -1;
    served = Math.max(served, a.version());
    published.markServed(a.version());
    getContext().getLog().info("weights: {} policy actors serve policy version {}", policies.size(), a.version());
    WeightsServed report = WeightsServed.newBuilder().setReplica(selfName).setVersion(served).build();
    publishers.forEach(p -> p.tell(report));
    fetchIfIdle();
    return this;
  }

  private Behavior<Command> onApplyFailed(ApplyFailed f) {
    applying = -1;
    attempts++;
    recordFailure("the policy actors could not load policy version " + f.version() + ": " + f.cause().getMessage());
    fetchIfIdle();
    return this;
  }

  private Behavior<Command> onGetStatus(GetStatus g) {
    g.replyTo().tell(fetch == null
        ? new Status(served, -1, 0, 0, failures, Optional.ofNullable(lastFailure))
        : new Status(served, fetch.assembler().version(), fetch.assembler().received(),
            fetch.assembler().manifest().getChunkCount(), failures, Optional.ofNullable(lastFailure)));
    return this;
  }
}
