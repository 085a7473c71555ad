package dev.cai.actors.work;

import dev.cai.protocol.v1.WorkReply;
import dev.cai.protocol.v1.WorkRequest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.pattern.StatusReply;

/**
 * Spreads model work over every reachable {@link ModelWorker} of a role, wherever in the cluster it runs: it follows
 * the Receptionist's listing, sends each request to the worker with the fewest requests in flight, holds at most
 * {@link WorkSettings#maxInFlightPerWorker} per worker (the rest wait here, and the graph upstream bounds how many
 * wait), and retries a request on another worker when its worker leaves, becomes unreachable or does not answer in
 * time. A late reply of an abandoned attempt is dropped, so each request is answered once.
 */
public final class WorkRouter extends AbstractBehavior<WorkRouter.Command> {
  public sealed interface Command {}

  /** Route {@code work} (its id and reply address are set here) and answer with the worker's reply. */
  public record Route(WorkRequest work, ActorRef<StatusReply<WorkReply>> replyTo) implements Command {}

  /** Stop routing: requests still waiting or in flight fail. */
  public record Stop() implements Command {}

  /** Report the router's counts. */
  public record GetStats(ActorRef<Stats> replyTo) implements Command {}

  /**
   * Counts since start.
   *
   * @param workers reachable workers now
   * @param routed requests answered by a worker
   * @param retried attempts abandoned and started again on another worker
   * @param failed requests that failed (error reply, attempts exhausted, no worker, queue full)
   * @param answeredBy replies per worker address
   */
  public record Stats(int workers, long routed, long retried, long failed, Map<String, Long> answeredBy) {}

  private record WorkersChanged(Receptionist.Listing listing) implements Command {}

  private record Replied(WorkReply reply) implements Command {}

  private record AttemptTimedOut(String attemptId) implements Command {}

  private record NoWorkersTimedOut() implements Command {}

  /** One request with its attempt number. */
  private record Job(long seq, WorkRequest work, ActorRef<StatusReply<WorkReply>> replyTo, int attempt, long routedAt) {
    Job next() {
      return new Job(seq, work, replyTo, attempt + 1, routedAt);
    }
  }

  private record Attempt(Job job, ActorRef<WorkRequest> worker) {}

  private static final Object NO_WORKERS_TIMER = "no-workers";

  private final String role;
  private final ServiceKey<WorkRequest> key;
  private final WorkSettings settings;
  private final TimerScheduler<Command> timers;
  private final String replyAddress;
  private final WorkMeters meters;
  private final Map<ActorRef<WorkRequest>, Integer> inFlight = new LinkedHashMap<>();
  private final Map<String, Attempt> attempts = new HashMap<>();
  private final ArrayDeque<Job> waiting = new ArrayDeque<>();
  private final Map<String, Long> answeredBy = new TreeMap<>();
  private long nextSeq;
  private long routed;
  private long retried;
  private long failed;

  /** A router to the workers registered under {@link ModelWorker#serviceKey}({@code role}). */
  public static Behavior<Command> create(String role, WorkSettings settings) {
    return Behaviors.withTimers(timers -> Behaviors.setup(ctx -> new WorkRouter(ctx, timers, role, settings)));
  }

  private WorkRouter(ActorContext<Command> ctx, TimerScheduler<Command> timers, String role, WorkSettings settings) {
    super(ctx);
    this.role = role;
    this.key = ModelWorker.serviceKey(role);
    this.settings = settings;
    this.timers = timers;
    this.meters = WorkMeters.of(role);
    ActorRef<WorkReply> replies = ctx.messageAdapter(WorkReply.class, Replied::new);
    this.replyAddress = ActorRefResolver.get(ctx.getSystem()).toSerializationFormat(replies);
    ActorRef<Receptionist.Listing> listings = ctx.messageAdapter(Receptionist.Listing.class, WorkersChanged::new);
    ctx.getSystem().receptionist().tell(Receptionist.subscribe(key, listings));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Route.class, this::onRoute)
        .onMessage(GetStats.class, this::onGetStats)
        .onMessage(WorkersChanged.class, this::onWorkersChanged)
        .onMessage(Replied.class, this::onReplied)
        .onMessage(AttemptTimedOut.class, this::onAttemptTimedOut)
        .onMessage(NoWorkersTimedOut.class, m -> onNoWorkersTimedOut())
        .onMessage(Stop.class, m -> onStop())
        .onSignal(PostStop.class, s -> onPostStop())
        .build();
  }

  private Behavior<Command> onRoute(Route r) {
    if (waiting.size() >= settings.maxQueued()) {
      fail(new Job(nextSeq++, r.work(), r.replyTo(), 1, System.nanoTime()), waiting.size() + " requests already wait for a " + role
          + " worker (cai.work.max-queued)");
      return this;
    }
    waiting.add(new Job(nextSeq++, r.work(), r.replyTo(), 1, System.nanoTime()));
    dispatch();
    return this;
  }

  private Behavior<Command> onGetStats(GetStats g) {
    g.replyTo().tell(new Stats(inFlight.size(), routed, retried, failed, Map.copyOf(answeredBy)));
    return this;
  }

  private Behavior<Command> onWorkersChanged(WorkersChanged c) {
    Set<ActorRef<WorkRequest>> now = c.listing().getServiceInstances(key);
    List<ActorRef<WorkRequest>> gone = inFlight.keySet().stream().filter(w -> !now.contains(w)).toList();
    for (ActorRef<WorkRequest> w : gone) {
      inFlight.remove(w);
      List<String> lost = attempts.entrySet().stream().filter(e -> e.getValue().worker().equals(w))
          .map(Map.Entry::getKey).sorted().toList();
      getContext().getLog().warn("{} worker {} left or is unreachable; retrying its {} requests in flight elsewhere",
          role, w.path().address(), lost.size());
      for (String id : lost) {
        timers.cancel(id);
        retry(attempts.remove(id).job(), role + " worker " + w.path().address() + " left or became unreachable");
      }
    }
    for (ActorRef<WorkRequest> w : now) {
      if (inFlight.putIfAbsent(w, 0) == null) {
        getContext().getLog().info("{} worker {} joined ({} reachable)", role, w.path().address(), now.size());
      }
    }
    dispatch();
    return this;
  }

  private Behavior<Command> onReplied(Replied r) {
    Attempt a = attempts.remove(r.reply().getId());
    if (a == null) {
      getContext().getLog().debug("dropped the reply to {} from {}: that attempt was abandoned", r.reply().getId(),
          r.reply().getWorker());
      return this;
    }
    timers.cancel(r.reply().getId());
    inFlight.computeIfPresent(a.worker(), (w, n) -> n - 1);
    if (r.reply().hasError()) {
      fail(a.job(), role + " worker " + r.reply().getWorker() + ": " + r.reply().getError());
    } else {
      routed++;
      meters.answered(a.job().routedAt());
      answeredBy.merge(r.reply().getWorker(), 1L, Long::sum);
      a.job().replyTo().tell(StatusReply.success(r.reply()));
    }
    dispatch();
    return this;
  }

  private Behavior<Command> onAttemptTimedOut(AttemptTimedOut t) {
    Attempt a = attempts.remove(t.attemptId());
    if (a != null) {
      inFlight.computeIfPresent(a.worker(), (w, n) -> n - 1);
      getContext().getLog().warn("{} worker {} did not answer {} within {}; retrying elsewhere", role,
          a.worker().path().address(), t.attemptId(), settings.attemptTimeout());
      retry(a.job(), role + " worker " + a.worker().path().address() + " did not answer within "
          + settings.attemptTimeout());
      dispatch();
    }
    return this;
  }

  private Behavior<Command> onNoWorkersTimedOut() {
    if (inFlight.isEmpty()) {
      List<Job> stuck = new ArrayList<>(waiting);
      waiting.clear();
      for (Job j : stuck) {
        fail(j, "no " + role + " worker reachable for " + settings.noWorkerTimeout()
            + " (start one with: cai node --role " + role + " --seed HOST:PORT)");
      }
      dispatch(); // updates the gauges
    }
    return this;
  }

  private Behavior<Command> onStop() {
    attempts.values().forEach(a -> fail(a.job(), "the " + role + " router stopped"));
    waiting.forEach(j -> fail(j, "the " + role + " router stopped"));
    return Behaviors.stopped();
  }

  private Behavior<Command> onPostStop() {
    getContext().getLog().info("{} work: {} requests answered (by worker: {}), {} retried, {} failed", role, routed,
        answeredBy, retried, failed);
    return this;
  }

  /** Sends waiting requests to the least-loaded workers with room; arms the no-worker timer while none is reachable. */
  private void dispatch() {
    while (!waiting.isEmpty()) {
      ActorRef<WorkRequest> worker = inFlight.entrySet().stream()
          .filter(e -> e.getValue() < settings.maxInFlightPerWorker())
          .min(Comparator.comparingInt(Map.Entry::getValue)).map(Map.Entry::getKey).orElse(null);
      if (worker == null) {
        break;
      }
      send(waiting.poll(), worker);
    }
    meters.workers.set(inFlight.size());
    meters.inFlight.set(attempts.size());
    meters.waiting.set(waiting.size());
    if (!waiting.isEmpty() && inFlight.isEmpty()) {
      if (!timers.isTimerActive(NO_WORKERS_TIMER)) {
        timers.startSingleTimer(NO_WORKERS_TIMER, new NoWorkersTimedOut(), settings.noWorkerTimeout());
      }
    } else {
      timers.cancel(NO_WORKERS_TIMER);
    }
  }

  private void send(Job job, ActorRef<WorkRequest> worker) {
    String id = getContext().getSelf().path().name() + "-" + job.seq() + "-" + job.attempt();
    attempts.put(id, new Attempt(job, worker));
    inFlight.merge(worker, 1, Integer::sum);
    worker.tell(job.work().toBuilder().setId(id).setReplyTo(replyAddress).build());
    timers.startSingleTimer(id, new AttemptTimedOut(id), settings.attemptTimeout());
  }

  private void retry(Job job, String reason) {
    if (job.attempt() >= settings.maxAttempts()) {
      fail(job, reason + "; gave up after " + job.attempt() + " attempts (cai.work.max-attempts)");
    } else {
      retried++;
      meters.retried.increment();
      waiting.addFirst(job.next());
    }
  }

  private void fail(Job job, String reason) {
    failed++;
    meters.failed.increment();
    job.replyTo().tell(StatusReply.error(reason));
  }
}
