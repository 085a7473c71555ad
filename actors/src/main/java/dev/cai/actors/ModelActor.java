package dev.cai.actors;

import dev.cai.runtime.Failures;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
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
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.pattern.StatusReply;

/**
 * A typed actor that owns one model and serves it with dynamic batching: requests that arrive close
 * together run as one batch (up to {@code maxBatchSize}, or after {@code maxWait}). Loading and every
 * batch run on the blocking dispatcher {@value #DISPATCHER}, never on the actor's thread. A model
 * failure fails every request in flight or queued with a clear reply, then restarts the actor (and
 * reloads the model) with exponential backoff; requests sent during the backoff wait and are served.
 */
public final class ModelActor<Q, R> extends AbstractBehavior<ModelActor.Command<Q, R>> {
  /** Dispatcher (configured in reference.conf) that runs model loading and batches. */
  public static final String DISPATCHER = "cai.model-dispatcher";

  /** Messages of the model actor. */
  public sealed interface Command<Q, R> {}

  /** Serve {@code request}; the reply is the model's result or an error naming the model and the cause. */
  public record Submit<Q, R>(Q request, ActorRef<StatusReply<R>> replyTo) implements Command<Q, R> {}

  /** Stops the actor once the batch it is running (if any) is answered; queued requests fail; the model is closed. */
  public record Stop<Q, R>() implements Command<Q, R> {}

  private record Loaded<Q, R>(BatchModel<Q, R> model) implements Command<Q, R> {}

  private record LoadFailed<Q, R>(Throwable cause) implements Command<Q, R> {}

  private record Flush<Q, R>() implements Command<Q, R> {}

  private record BatchDone<Q, R>(List<Submit<Q, R>> batch, List<BatchModel.Outcome<R>> results) implements Command<Q, R> {}

  private record BatchFailed<Q, R>(List<Submit<Q, R>> batch, Throwable cause) implements Command<Q, R> {}

  /** Thrown inside the actor to make its supervisor restart it with backoff. */
  public static final class ModelFailure extends RuntimeException {
    ModelFailure(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final String name;
  private final Supplier<BatchModel<Q, R>> loader;
  private final BatchingSettings settings;
  private final TimerScheduler<Command<Q, R>> timers;
  private final Executor blocking;
  private final ArrayDeque<Submit<Q, R>> queue = new ArrayDeque<>();
  private final ArrayDeque<Long> queuedAt = new ArrayDeque<>(); // System.nanoTime() of each queued request
  private final ModelMeters meters;
  private BatchModel<Q, R> model;
  private boolean running;
  private boolean stopping;

  /**
   * A supervised model actor.
   *
   * @param name role of the model in messages (e.g. "policy")
   * @param loader builds the model; called again after each restart
   */
  public static <Q, R> Behavior<Command<Q, R>> create(String name, Supplier<BatchModel<Q, R>> loader,
      BatchingSettings settings) {
    Behavior<Command<Q, R>> actor = Behaviors.withTimers(timers ->
        Behaviors.setup(ctx -> new ModelActor<>(ctx, timers, name, loader, settings)));
    return Behaviors.supervise(actor).onFailure(ModelFailure.class,
        SupervisorStrategy.restartWithBackoff(settings.minBackoff(), settings.maxBackoff(), 0.2));
  }

  private ModelActor(ActorContext<Command<Q, R>> ctx, TimerScheduler<Command<Q, R>> timers, String name,
      Supplier<BatchModel<Q, R>> loader, BatchingSettings settings) {
    super(ctx);
    this.name = name;
    this.loader = loader;
    this.settings = settings;
    this.timers = timers;
    this.meters = ModelMeters.of(name);
    this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(DISPATCHER));
    ctx.pipeToSelf(CompletableFuture.supplyAsync(loader, blocking),
        (m, err) -> err == null ? new Loaded<>(m) : new LoadFailed<>(err));
  }

  @Override
  @SuppressWarnings("unchecked")
  public Receive<Command<Q, R>> createReceive() {
    return newReceiveBuilder()
        .onMessage(Submit.class, m -> onSubmit((Submit<Q, R>) m))
        .onMessage(Loaded.class, m -> onLoaded((Loaded<Q, R>) m))
        .onMessage(LoadFailed.class, m -> onLoadFailed((LoadFailed<Q, R>) m))
        .onMessage(Flush.class, m -> onFlush())
        .onMessage(Stop.class, m -> onStopCommand())
        .onMessage(BatchDone.class, m -> onBatchDone((BatchDone<Q, R>) m))
        .onMessage(BatchFailed.class, m -> onBatchFailed((BatchFailed<Q, R>) m))
        .onSignal(PreRestart.class, s -> onStop())
        .onSignal(PostStop.class, s -> onStop())
        .build();
  }

  private Behavior<Command<Q, R>> onStopCommand() {
    stopping = true;
    return running ? this : Behaviors.stopped();
  }

  private Behavior<Command<Q, R>> onSubmit(Submit<Q, R> submit) {
    if (stopping) {
      submit.replyTo().tell(StatusReply.error(name + " model is stopping"));
      return this;
    }
    if (queue.size() >= settings.maxQueued()) {
      submit.replyTo().tell(StatusReply.error(name + " model is overloaded: " + queue.size() + " requests queued"));
      return this;
    }
    queue.add(submit);
    queuedAt.add(System.nanoTime());
    meters.queued(1);
    dispatchOrWait();
    return this;
  }

  private Behavior<Command<Q, R>> onLoaded(Loaded<Q, R> loaded) {
    model = loaded.model();
    getContext().getLog().info("{} model {} loaded", name, model.id());
    dispatchOrWait();
    return this;
  }

  private Behavior<Command<Q, R>> onLoadFailed(LoadFailed<Q, R> failed) {
    throw failAll(List.of(), "could not be loaded", failed.cause());
  }

  private Behavior<Command<Q, R>> onFlush() {
    if (model != null && !running && !queue.isEmpty()) {
      dispatch();
    }
    return this;
  }

  private Behavior<Command<Q, R>> onBatchDone(BatchDone<Q, R> done) {
    running = false;
    if (done.results().size() != done.batch().size()) {
      throw failAll(done.batch(), "returned " + done.results().size() + " results for " + done.batch().size() + " requests", null);
    }
    for (int i = 0; i < done.batch().size(); i++) {
      BatchModel.Outcome<R> outcome = done.results().get(i);
      done.batch().get(i).replyTo().tell(outcome.isOk()
          ? StatusReply.success(outcome.value())
          : StatusReply.error(name + " model " + model.id() + " rejected the request: " + outcome.error()));
    }
    if (stopping) {
      return Behaviors.stopped();
    }
    if (!queue.isEmpty()) {
      dispatch(); // these requests already waited for a whole batch: no extra delay
    }
    return this;
  }

  private Behavior<Command<Q, R>> onBatchFailed(BatchFailed<Q, R> failed) {
    running = false;
    throw failAll(failed.batch(), "failed", failed.cause());
  }

  private Behavior<Command<Q, R>> onStop() {
    fail(new ArrayList<>(queue), name + " model stopped before serving the request");
    clearQueue();
    if (model != null) {
      model.close();
      model = null;
    }
    return this;
  }

  private void dispatchOrWait() {
    if (model == null || running || queue.isEmpty()) {
      return;
    }
    if (queue.size() >= settings.maxBatchSize() || settings.maxWait().isZero()) {
      dispatch();
    } else if (!timers.isTimerActive("flush")) {
      timers.startSingleTimer("flush", new Flush<>(), settings.maxWait());
    }
  }

  private void dispatch() {
    timers.cancel("flush");
    List<Submit<Q, R>> batch = new ArrayList<>();
    long now = System.nanoTime();
    long[] waits = new long[Math.min(queue.size(), settings.maxBatchSize())];
    while (!queue.isEmpty() && batch.size() < settings.maxBatchSize()) {
      batch.add(queue.poll());
      waits[batch.size() - 1] = now - queuedAt.poll();
    }
    meters.queued(-batch.size());
    meters.batchStarted(batch.size(), waits);
    List<Q> requests = batch.stream().map(Submit::request).toList();
    BatchModel<Q, R> m = model;
    running = true;
    getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> {
      long start = System.nanoTime();
      List<BatchModel.Outcome<R>> results = runBatch(m, requests);
      meters.forward(System.nanoTime() - start);
      return results;
    }, blocking),
        (results, err) -> err == null ? new BatchDone<>(batch, results) : new BatchFailed<>(batch, Failures.cause(err)));
  }

  private void clearQueue() {
    meters.queued(-queue.size());
    queue.clear();
    queuedAt.clear();
  }

  private static <Q, R> List<BatchModel.Outcome<R>> runBatch(BatchModel<Q, R> m, List<Q> requests) {
    try {
      return m.run(requests);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  /** Fails the batch and every queued request, and returns the exception that restarts the actor. */
  private ModelFailure failAll(List<Submit<Q, R>> batch, String what, Throwable cause) {
    String id = model == null ? name : name + " model " + model.id();
    String message = id + " " + what + (cause == null ? "" : ": " + Failures.describe(cause));
    fail(batch, message);
    fail(new ArrayList<>(queue), message + " (request was queued; the model restarts)");
    clearQueue();
    return new ModelFailure(message, cause);
  }

  private static <Q, R> void fail(List<Submit<Q, R>> requests, String message) {
    for (Submit<Q, R> s : requests) {
      s.replyTo().tell(StatusReply.error(message));
    }
  }
}
