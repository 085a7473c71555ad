package dev.cai.actors.work;

import dev.cai.actors.ModelMeters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Timer;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Model work a driver routes to the workers of one role ({@code cai_work_*{role}}), as Micrometer meters on the global
 * registry: requests answered, retried and failed, the time from routing to the answer (retries included), and the
 * workers reachable and requests in flight and waiting now.
 */
final class WorkMeters {
  static final String REQUESTS = "cai.work.requests";
  static final String LATENCY = "cai.work.latency";
  static final String WORKERS = "cai.work.workers";
  static final String IN_FLIGHT = "cai.work.in.flight";
  static final String WAITING = "cai.work.waiting";

  /** One per role in this JVM (strong references for the gauges). */
  private static final Map<String, WorkMeters> METERS = new HashMap<>();

  final Counter answered;
  final Counter retried;
  final Counter failed;
  final Timer latency;
  final AtomicInteger workers = new AtomicInteger();
  final AtomicInteger inFlight = new AtomicInteger();
  final AtomicInteger waiting = new AtomicInteger();

  private WorkMeters(MeterRegistry registry, String role) {
    answered = requests(registry, role, "answered");
    retried = requests(registry, role, "retried");
    failed = requests(registry, role, "failed");
    latency = Timer.builder(LATENCY).tag("role", role).description("time from routing a request to its answer")
        .serviceLevelObjectives(ModelMeters.LATENCY_BUCKETS).register(registry);
    Gauge.builder(WORKERS, workers, AtomicInteger::get).tag("role", role).description("reachable workers")
        .register(registry);
    Gauge.builder(IN_FLIGHT, inFlight, AtomicInteger::get).tag("role", role).description("requests at workers")
        .register(registry);
    Gauge.builder(WAITING, waiting, AtomicInteger::get).tag("role", role).description("requests waiting for a worker")
        .register(registry);
  }

  private static Counter requests(MeterRegistry registry, String role, String outcome) {
    return Counter.builder(REQUESTS).tag("role", role).tag("outcome", outcome)
        .description("routed requests by outcome (a retried attempt counts once per retry)").register(registry);
  }

  /** The meters of the routers of {@code role} (created on first use). */
  static WorkMeters of(String role) {
    synchronized (METERS) {
      return METERS.computeIfAbsent(role, r -> new WorkMeters(Metrics.globalRegistry, r));
    }
  }

  /** A request routed at {@code startNanos} (System.nanoTime) was answered now. */
  void answered(long startNanos) {
    answered.increment();
    latency.record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
  }
}
