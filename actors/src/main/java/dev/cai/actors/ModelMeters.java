package dev.cai.actors;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Batch size distribution, queue wait, forward time and queue length of the model actors of one role ({@code
 * cai_model_*{model}}), as Micrometer meters on the global registry; no-ops without a registry attached.
 */
public final class ModelMeters {
  public static final String BATCH_SIZE = "cai.model.batch.size";
  public static final String QUEUE_WAIT = "cai.model.queue.wait";
  public static final String FORWARD = "cai.model.forward";
  public static final String QUEUE_LENGTH = "cai.model.queue.length";

  /**
   * Bucket bounds of the stage and model latency histograms: from a millisecond (a commit, a cached step) to ten minutes
   * (a PPO update on a large model); a dozen fixed buckets are cheaper to record than Micrometer's ~70 default ones.
   */
  public static final Duration[] LATENCY_BUCKETS = {Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(25),
      Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(2),
      Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60),
      Duration.ofMinutes(3), Duration.ofMinutes(10)};

  /** Every model role metered in this JVM, in registration order (strong references for the gauges). */
  private static final Map<String, ModelMeters> METERS = new LinkedHashMap<>();

  private final String model;
  private final DistributionSummary batchSize;
  private final Timer queueWait;
  private final Timer forward;
  private final AtomicInteger queueLength = new AtomicInteger();

  private ModelMeters(MeterRegistry registry, String model) {
    this.model = model;
    batchSize = DistributionSummary.builder(BATCH_SIZE).tag("model", model).description("requests per batch")
        .serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64, 128).register(registry);
    queueWait = Timer.builder(QUEUE_WAIT).tag("model", model).description("time a request waits for its batch")
        .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
    forward = Timer.builder(FORWARD).tag("model", model).description("time of one batch on the model")
        .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
    Gauge.builder(QUEUE_LENGTH, queueLength, AtomicInteger::get).tag("model", model)
        .description("requests waiting for a batch").register(registry);
  }

  /** The meters of the model actors of role {@code model} (created on first use; several actors of a role share them). */
  public static ModelMeters of(String model) {
    synchronized (METERS) {
      return METERS.computeIfAbsent(model, m -> new ModelMeters(Metrics.globalRegistry, m));
    }
  }

  /** Every role metered so far, in registration order. */
  public static List<ModelMeters> all() {
    synchronized (METERS) {
      return new ArrayList<>(METERS.values());
    }
  }

  /** The queue grew ({@code delta} > 0) or shrank. */
  public void queued(int delta) {
    queueLength.addAndGet(delta);
  }

  /** A batch of {@code size} requests started after each waited {@code waitNanos}. */
  public void batchStarted(int size, long[] waitNanos) {
    batchSize.record(size);
    for (long w : waitNanos) {
      queueWait.record(w, TimeUnit.NANOSECONDS);
    }
  }

  /** A batch ran on the model for {@code nanos}. */
  public void forward(long nanos) {
    forward.record(nanos, TimeUnit.NANOSECONDS);
  }

  public String model() {
    return model;
  }

  public long batches() {
    return batchSize.count();
  }

  public double meanBatchSize() {
    return batchSize.mean();
  }

  public int queueLength() {
    return queueLength.get();
  }

  public double queueWaitMeanMs() {
    return queueWait.mean(TimeUnit.MILLISECONDS);
  }

  public double forwardMeanMs() {
    return forward.mean(TimeUnit.MILLISECONDS);
  }
}
