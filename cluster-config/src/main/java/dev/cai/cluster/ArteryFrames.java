package dev.cai.cluster;

import com.typesafe.config.Config;

/**
 * The one check that a chunk message fits the Artery frame a node sends it in: chunked transfers (policy weights,
 * learner checkpoints) refuse a chunk size at start-up rather than have Artery drop every chunk at run time.
 */
public final class ArteryFrames {
  /** Artery's frame for ordinary messages. */
  public static final String FRAME_SIZE = "pekko.remote.artery.advanced.maximum-frame-size";
  /** Artery's frame on the large-message channel (for the {@code large-message-destinations}). */
  public static final String LARGE_FRAME_SIZE = "pekko.remote.artery.advanced.maximum-large-frame-size";
  /** Room left in a frame beside a chunk's data: names, offsets, hashes, envelope, recipient path. */
  public static final int HEADROOM = 8 * 1024;

  private ArteryFrames() {}

  /**
   * Refuses chunks of {@code bytes} bytes of data (the setting {@code key}) that, with {@link #HEADROOM}, exceed the
   * frame {@code frame} ({@link #FRAME_SIZE} or {@link #LARGE_FRAME_SIZE}) of the node configuration {@code node}; a
   * configuration without that frame setting (not an actor system's) is not checked.
   *
   * @throws IllegalArgumentException naming the key, its value and the frame
   */
  public static void checkChunkFits(Config node, String frame, long bytes, String key) {
    if (node.hasPath(frame) && bytes + HEADROOM > node.getBytes(frame)) {
      throw new IllegalArgumentException(key + " " + bytes + " does not fit an Artery frame: " + frame + " is "
          + node.getBytes(frame) + " and a chunk needs " + HEADROOM + " bytes beside its data");
    }
  }
}
