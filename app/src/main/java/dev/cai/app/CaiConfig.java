package dev.cai.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.concurrent.Callable;

/**
 * The configuration commands read: {@code -D} system properties first, then the overrides of the pipeline stage
 * being run by {@code cai run} (if any, on this thread), then application.conf and the reference.conf defaults.
 */
final class CaiConfig {
  private static final ThreadLocal<Config> OVERRIDES = new ThreadLocal<>();

  private CaiConfig() {}

  /** The effective configuration on this thread. */
  static Config load() {
    Config overrides = OVERRIDES.get();
    Config base = ConfigFactory.load();
    return overrides == null ? base : merged(overrides);
  }

  /** {@code overrides} between the system properties and application.conf/reference.conf. */
  static Config merged(Config overrides) {
    return ConfigFactory.systemProperties().withFallback(overrides).withFallback(ConfigFactory.load()).resolve();
  }

  /** Runs {@code work} on this thread with {@code overrides} in effect for {@link #load()}. */
  static <T> T withOverrides(Config overrides, Callable<T> work) throws Exception {
    Config previous = OVERRIDES.get();
    OVERRIDES.set(previous == null ? overrides : overrides.withFallback(previous));
    try {
      return work.call();
    } finally {
      if (previous == null) {
        OVERRIDES.remove();
      } else {
        OVERRIDES.set(previous);
      }
    }
  }
}
