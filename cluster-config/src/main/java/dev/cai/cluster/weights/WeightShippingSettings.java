package dev.cai.cluster.weights;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import dev.cai.cluster.ArteryFrames;
import java.time.Duration;

/**
 * Settings of weight shipping, read from {@code cai.cluster.weights} (defaults and their documentation:
 * {@code dev/cai/cluster/weights/weights.conf}).
 *
 * @param chunkBytes largest tensor slice in one chunk message (a positive multiple of 4)
 * @param window chunks in flight per replica before it acknowledges
 * @param fetchTimeout silence after which a replica restarts its fetch and a publisher drops it
 * @param maxAttempts failed fetches of one version after which a replica waits for the next announcement
 * @param applyTimeout how long a replica waits for its policy actors to load a version
 */
public record WeightShippingSettings(int chunkBytes, int window, Duration fetchTimeout, int maxAttempts,
    Duration applyTimeout) {
  /** Config path of these settings. */
  public static final String PATH = "cai.cluster.weights";
  private static final String LARGE_DESTINATIONS = "pekko.remote.artery.large-message-destinations";

  public WeightShippingSettings {
    if (chunkBytes <= 0 || chunkBytes % WeightManifests.FLOAT_BYTES != 0) {
      throw new IllegalArgumentException(PATH + ".chunk-bytes must be a positive multiple of 4, got " + chunkBytes);
    }
    if (window < 1) {
      throw new IllegalArgumentException(PATH + ".window must be >= 1, got " + window);
    }
    if (fetchTimeout.isNegative() || fetchTimeout.isZero() || applyTimeout.isNegative() || applyTimeout.isZero()) {
      throw new IllegalArgumentException(PATH + ".fetch-timeout and apply-timeout must be > 0");
    }
    if (maxAttempts < 1) {
      throw new IllegalArgumentException(PATH + ".max-attempts must be >= 1, got " + maxAttempts);
    }
  }

  /** The settings of a node with configuration {@code config} (an actor system's), over the documented defaults. */
  public static WeightShippingSettings fromConfig(Config config) {
    Config c = config.withFallback(defaults()).getConfig(PATH);
    WeightShippingSettings s = new WeightShippingSettings(Math.toIntExact(c.getBytes("chunk-bytes")), c.getInt("window"),
        c.getDuration("fetch-timeout"), c.getInt("max-attempts"), c.getDuration("apply-timeout"));
    ArteryFrames.checkChunkFits(config, largeMessageChannel(config) ? ArteryFrames.LARGE_FRAME_SIZE
        : ArteryFrames.FRAME_SIZE, s.chunkBytes(), PATH + ".chunk-bytes");
    return s;
  }

  /** Whether chunks travel on Artery's large-message channel: the replica's path is a large-message destination. */
  static boolean largeMessageChannel(Config config) {
    return config.hasPath(LARGE_DESTINATIONS)
        && config.getStringList(LARGE_DESTINATIONS).contains(WeightReplica.LARGE_MESSAGE_DESTINATION);
  }

  /** The documented defaults. */
  static Config defaults() {
    return ConfigFactory.parseResources(WeightShippingSettings.class.getClassLoader(),
        "dev/cai/cluster/weights/weights.conf", ConfigParseOptions.defaults().setAllowMissing(false));
  }
}
