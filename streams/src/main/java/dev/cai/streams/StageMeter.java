package dev.cai.streams;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * Throughput, in-flight count, buffer fill and latency of one stage of a graph, as Micrometer meters on the global
 * registry ({@code cai_stage_*{graph, stage}}). Buffer fill = in flight / capacity: a stage near 1 is the bottleneck and
 * backpressures its upstream. Without a registry attached the meters are no-ops and cost two atomic operations.
 */
public final class StageMeter {
  public static final String ELEMENTS = "cai.stage.elements";
  public static final String TOKENS = "cai.stage.tokens";
  public static final String IN_FLIGHT = "cai.stage.in.flight";
  public static final String CAPACITY = "cai.stage.capacity";
  public static final String BUFFER_FILL = "cai.stage.buffer.fill";
  public static final String LATENCY = "cai.stage.latency";

  /** Every stage metered in this JVM, in registration order (strong references: gauges hold theirs weakly). */
  private static final Map<String, StageMeter> METERS = new LinkedHashMap<>();

  private final String graph;
  private final String stage;
  private final Counter elements;
  private final Counter tokens;
  private final Timer latency;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger capacity = new AtomicInteger(1);

  private StageMeter(MeterRegistry registry, String graph, String stage) {
    this.graph = graph;
    this.stage = stage;
    Tags tags = Tags.of("graph", graph, "stage", stage);
    elements = Counter.builder(ELEMENTS).tags(tags).description("elements that finished the stage").register(registry);
    tokens = Counter.builder(TOKENS).tags(tags).description("tokens the stage produced or processed").register(registry);
    latency = Timer.builder(LATENCY).tags(tags).description("time an element spends in the stage")
        .serviceLevelObjectives(dev.cai.actors.ModelMeters.LATENCY_BUCKETS).register(registry);
    Gauge.builder(IN_FLIGHT, inFlight, AtomicInteger::get).tags(tags).description("elements inside the stage")
        .register(registry);
    Gauge.builder(CAPACITY, capacity, AtomicInteger::get).tags(tags).description("most elements the stage holds")
        .register(registry);
    Gauge.builder(BUFFER_FILL, this, StageMeter::bufferFill).tags(tags)
        .description("in flight / capacity; near 1 the stage backpressures its upstream").register(registry);
  }

  /** The meter of {@code graph}/{@code stage} (created on first use), holding at most {@code capacity} elements. */
  public static StageMeter of(String graph, String stage, int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("stage " + graph + "/" + stage + " needs capacity >= 1, got " + capacity);
    }
    StageMeter m;
    synchronized (METERS) {
      m = METERS.computeIfAbsent(graph + "/" + stage, k -> new StageMeter(Metrics.globalRegistry, graph, stage));
    }
    m.capacity.set(capacity);
    return m;
  }

  /** Every stage metered so far, in registration order. */
  public static List<StageMeter> all() {
    synchronized (METERS) {
      return new ArrayList<>(METERS.values());
    }
  }

  /** {@code n} elements enter the stage; returns the time to pass to {@link #exit}. */
  public long enter(int n) {
    inFlight.addAndGet(n);
    return System.nanoTime();
  }

  /** {@code n} elements that entered at {@code entered} leave the stage, done, with {@code tokenCount} tokens. */
  public void exit(long entered, int n, long tokenCount) {
    inFlight.addAndGet(-n);
    elements.increment(n);
    if (tokenCount > 0) {
      tokens.increment(tokenCount);
    }
    latency.record(System.nanoTime() - entered, TimeUnit.NANOSECONDS);
  }

  /** {@code n} elements that entered leave the stage without finishing it (failed): not counted as done. */
  public void abandon(int n) {
    inFlight.addAndGet(-n);
  }

  /** Elements that pass the stage without a measurable stay (e.g. lines read from a file). */
  public void passed(int n, long tokenCount) {
    elements.increment(n);
    if (tokenCount > 0) {
      tokens.increment(tokenCount);
    }
  }

  /**
   * Meters an asynchronous step of {@code n} elements: in flight from the call until its result; the result's tokens
   * are counted when it succeeds, a failure only leaves the stage.
   */
  public <R> CompletionStage<R> time(int n, Supplier<? extends CompletionStage<R>> call, ToLongFunction<R> tokenCount) {
    long entered = enter(n);
    CompletionStage<R> result;
    try {
      result = call.get();
    } catch (RuntimeException e) {
      abandon(n);
      return CompletableFuture.failedFuture(e);
    }
    return result.whenComplete((r, err) -> {
      if (err == null) {
        exit(entered, n, tokenCount.applyAsLong(r));
      } else {
        abandon(n);
      }
    });
  }

  /** Meters a synchronous step of {@code n} elements (no tokens); a failure only leaves the stage. */
  public <R> R call(int n, Supplier<R> step) {
    long entered = enter(n);
    R r;
    try {
      r = step.get();
    } catch (RuntimeException | Error e) {
      abandon(n);
      throw e;
    }
    exit(entered, n, 0);
    return r;
  }

  public String graph() {
    return graph;
  }

  public String stage() {
    return stage;
  }

  public double elements() {
    return elements.count();
  }

  public double tokens() {
    return tokens.count();
  }

  public int inFlight() {
    return inFlight.get();
  }

  public int capacity() {
    return capacity.get();
  }

  /** In flight / capacity, clamped to [0, 1]. */
  public double bufferFill() {
    return Math.max(0, Math.min(1, inFlight.get() / (double) capacity.get()));
  }

  /** Mean time in the stage so far, in milliseconds (0 before the first element, or without a registry). */
  public double latencyMeanMs() {
    return latency.mean(TimeUnit.MILLISECONDS);
  }

  /** Longest recent time in the stage, in milliseconds. */
  public double latencyMaxMs() {
    return latency.max(TimeUnit.MILLISECONDS);
  }
}
