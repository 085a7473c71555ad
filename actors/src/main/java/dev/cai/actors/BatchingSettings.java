package dev.cai.actors;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Dynamic batching and supervision settings of a {@link ModelActor} (HOCON block {@code cai.batching}).
 *
 * @param maxBatchSize most requests in one model call
 * @param maxWait how long the first queued request may wait for others before a partial batch runs
 * @param maxQueued queued requests beyond which new ones are refused (the stream upstream bounds this anyway)
 * @param minBackoff first restart delay after a model failure
 * @param maxBackoff longest restart delay
 */
public record BatchingSettings(int maxBatchSize, Duration maxWait, int maxQueued, Duration minBackoff, Duration maxBackoff) {
  public BatchingSettings {
    if (maxBatchSize < 1) {
      throw new IllegalArgumentException("cai.batching.max-batch-size must be >= 1, got " + maxBatchSize);
    }
    if (maxWait.isNegative()) {
      throw new IllegalArgumentException("cai.batching.max-wait must be >= 0, got " + maxWait);
    }
    if (maxQueued < maxBatchSize) {
      throw new IllegalArgumentException("cai.batching.max-queued (" + maxQueued + ") must be >= max-batch-size (" + maxBatchSize + ")");
    }
    if (minBackoff.isNegative() || maxBackoff.compareTo(minBackoff) < 0) {
      throw new IllegalArgumentException("cai.batching: need 0 <= min-backoff <= max-backoff, got " + minBackoff + ", " + maxBackoff);
    }
  }

  /** Reads a block shaped like {@code cai.batching} in reference.conf. */
  public static BatchingSettings fromConfig(Config c) {
    return new BatchingSettings(c.getInt("max-batch-size"), c.getDuration("max-wait"), c.getInt("max-queued"),
        c.getDuration("min-backoff"), c.getDuration("max-backoff"));
  }
}
