package dev.cai.cluster.learner;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.cai.cluster.ArteryFrames;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Settings of learner failover (HOCON block {@code cai.cluster.learner} in {@code common.conf}).
 *
 * @param dir node-local directory: the RL store, received checkpoints, metrics, the exported policy
 * @param shipEvery updates between shipped checkpoints (K)
 * @param chunkSize bytes of checkpoint data per chunk message ({@link #fromConfig} checks that a chunk fits the
 *     node's Artery frame)
 * @param window chunks in flight per standby
 * @param keep complete checkpoints a standby keeps
 * @param ackTimeout a transfer with no acknowledgement for this long is abandoned
 */
public record LearnerHaSettings(Path dir, int shipEvery, int chunkSize, int window, int keep, Duration ackTimeout) {
  public LearnerHaSettings {
    require(dir != null, "dir is required");
    require(shipEvery >= 1, "ship-every must be >= 1, got " + shipEvery);
    require(chunkSize >= 1, "chunk-size must be >= 1 B, got " + chunkSize);
    require(window >= 1, "window must be >= 1, got " + window);
    require(keep >= 1, "keep must be >= 1, got " + keep);
    require(ackTimeout != null && ackTimeout.compareTo(Duration.ZERO) > 0, "ack-timeout must be > 0");
  }

  /**
   * Reads {@code cai.cluster.learner} of a node's configuration; a bad value fails naming its key, a chunk size too
   * large for the node's {@code maximum-frame-size} too (chunks go to the standbys on Artery's ordinary channel).
   */
  public static LearnerHaSettings fromConfig(Config node) {
    try {
      Config c = node.getConfig("cai.cluster.learner");
      long chunk = c.getBytes("chunk-size");
      ArteryFrames.checkChunkFits(node, ArteryFrames.FRAME_SIZE, chunk, "cai.cluster.learner.chunk-size");
      return new LearnerHaSettings(Path.of(c.getString("dir")), c.getInt("ship-every"),
          (int) Math.min(chunk, Integer.MAX_VALUE), c.getInt("window"), c.getInt("keep"), c.getDuration("ack-timeout"));
    } catch (ConfigException e) {
      throw new IllegalArgumentException("cai.cluster.learner: " + e.getMessage(), e);
    }
  }

  /** The same settings with another node-local directory ({@code --learner-dir}). */
  public LearnerHaSettings withDir(Path d) {
    return new LearnerHaSettings(d, shipEvery, chunkSize, window, keep, ackTimeout);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException("cai.cluster.learner: " + message);
    }
  }
}
