package dev.cai.streams.remote;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;

/**
 * How {@link OpenAiClient} talks to a remote model server (HOCON block {@code cai.remote}).
 *
 * @param connectTimeout longest wait to open a connection
 * @param requestTimeout longest wait for one response, from sending the request; a request that takes longer fails
 *     (it is not retried: a server that is too slow would only get slower)
 * @param maxRetries further attempts after a connection failure, HTTP 429 or HTTP 5xx (never after another 4xx)
 * @param initialBackoff wait before the first retry; it doubles per retry
 * @param maxBackoff longest wait between attempts (also caps a server's {@code Retry-After})
 * @param maxConcurrency requests in flight to one server at once; more wait their turn in the client
 */
public record RemoteSettings(Duration connectTimeout, Duration requestTimeout, int maxRetries, Duration initialBackoff,
    Duration maxBackoff, int maxConcurrency) {

  public RemoteSettings {
    require(positive(connectTimeout), "connect-timeout must be > 0, got " + connectTimeout);
    require(positive(requestTimeout), "request-timeout must be > 0, got " + requestTimeout);
    require(maxRetries >= 0, "max-retries must be >= 0, got " + maxRetries);
    require(positive(initialBackoff), "initial-backoff must be > 0, got " + initialBackoff);
    require(maxBackoff != null && maxBackoff.compareTo(initialBackoff) >= 0,
        "max-backoff must be >= initial-backoff, got " + maxBackoff + " < " + initialBackoff);
    require(maxConcurrency >= 1, "max-concurrency must be >= 1, got " + maxConcurrency);
  }

  /** Reads a block shaped like {@code cai.remote} in reference.conf; a bad value fails naming its key. */
  public static RemoteSettings fromConfig(Config c) {
    try {
      return new RemoteSettings(c.getDuration("connect-timeout"), c.getDuration("request-timeout"), c.getInt("max-retries"),
          c.getDuration("initial-backoff"), c.getDuration("max-backoff"), c.getInt("max-concurrency"));
    } catch (ConfigException e) {
      throw new IllegalArgumentException("cai.remote: " + e.getMessage(), e);
    }
  }

  /** The defaults of {@code cai.remote} in reference.conf. */
  public static RemoteSettings defaults() {
    return fromConfig(defaultsConfig());
  }

  /** The {@code cai.remote} block of reference.conf. */
  static Config defaultsConfig() {
    return ConfigFactory.defaultReference().getConfig("cai.remote");
  }

  /** The wait before retry {@code retry} (0-based): initialBackoff · 2^retry, at most maxBackoff. */
  public Duration backoff(int retry) {
    long ms = initialBackoff.toMillis();
    for (int i = 0; i < retry && ms < maxBackoff.toMillis(); i++) {
      ms *= 2;
    }
    return Duration.ofMillis(Math.min(ms, maxBackoff.toMillis()));
  }

  private static boolean positive(Duration d) {
    return d != null && d.compareTo(Duration.ZERO) > 0;
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException("cai.remote: " + message);
    }
  }
}
