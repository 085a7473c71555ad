package dev.cai.actors.work;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * How a {@link WorkRouter} spreads model work over the workers of a role (HOCON block {@code cai.work}).
 *
 * @param maxInFlightPerWorker requests one worker holds at once; more wait in the router (backpressure across the
 *     network: a worker never queues more than this for one driver)
 * @param attemptTimeout longest wait for one worker's reply before the request is retried on another worker
 * @param maxAttempts attempts of one request (the first included) before it fails
 * @param noWorkerTimeout how long requests may wait while no worker of the role is reachable before they fail
 * @param maxQueued requests waiting in the router beyond which new ones are refused
 */
public record WorkSettings(int maxInFlightPerWorker, Duration attemptTimeout, int maxAttempts, Duration noWorkerTimeout,
    int maxQueued) {
  public WorkSettings {
    if (maxInFlightPerWorker < 1) {
      throw new IllegalArgumentException("cai.work.max-in-flight-per-worker must be >= 1, got " + maxInFlightPerWorker);
    }
    if (attemptTimeout.isNegative() || attemptTimeout.isZero()) {
      throw new IllegalArgumentException("cai.work.attempt-timeout must be > 0, got " + attemptTimeout);
    }
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("cai.work.max-attempts must be >= 1, got " + maxAttempts);
    }
    if (noWorkerTimeout.isNegative() || noWorkerTimeout.isZero()) {
      throw new IllegalArgumentException("cai.work.no-worker-timeout must be > 0, got " + noWorkerTimeout);
    }
    if (maxQueued < 1) {
      throw new IllegalArgumentException("cai.work.max-queued must be >= 1, got " + maxQueued);
    }
  }

  /** Reads a block shaped like {@code cai.work} in reference.conf. */
  public static WorkSettings fromConfig(Config c) {
    return new WorkSettings(c.getInt("max-in-flight-per-worker"), c.getDuration("attempt-timeout"),
        c.getInt("max-attempts"), c.getDuration("no-worker-timeout"), c.getInt("max-queued"));
  }
}
