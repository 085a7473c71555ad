package dev.cai.streams;

import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * A prompt file feeding a graph; {@code helpful} marks benign prompts of the helpfulness mix. Its offset
 * is committed under {@link #id()}, the normalised absolute path, so a restart resumes it.
 */
public record PromptSource(Path file, boolean helpful) {
  public String id() {
    return file.toAbsolutePath().normalize().toString();
  }

  /**
   * The random choices (principles, sampling seeds) of the prompt at {@code offset} of source {@code sourceId}: the
   * same whatever the batching, order or restarts, and wherever the run directory or the clone is, because they take
   * the source's file name, not its path (a pipeline copies its prompts into RUN_DIR). {@code stream} keeps the
   * streams of different graphs apart.
   */
  public static SplittableRandom promptRng(long seed, long stream, String sourceId, long offset) {
    return new SplittableRandom(seed ^ (stream * (offset + 1)) ^ seedKey(sourceId).hashCode());
  }

  /** The file name of a source id; ids without a directory (prompts offered in memory) are kept whole. */
  private static String seedKey(String sourceId) {
    int slash = Math.max(sourceId.lastIndexOf('/'), sourceId.lastIndexOf('\\'));
    return sourceId.substring(slash + 1);
  }
}
