package dev.cai.streams;

import java.nio.file.Path;

/**
 * A prompt file feeding a graph; {@code helpful} marks benign prompts of the helpfulness mix. Its offset
 * is committed under {@link #id()}, the normalised absolute path, so a restart resumes it.
 */
public record PromptSource(Path file, boolean helpful) {
  public String id() {
    return file.toAbsolutePath().normalize().toString();
  }

  /** {@link #seedKey(String)} of this source. */
  public String seedKey() {
    return seedKey(id());
  }

  /**
   * What a prompt's random choices (principles, sampling seeds) take from its source: the file name of the source id,
   * not the whole path, so that the same prompt file gives the same data wherever the run directory or the clone is
   * (a pipeline copies its prompts into RUN_DIR). Ids without a directory (prompts offered in memory) are kept whole.
   */
  public static String seedKey(String sourceId) {
    int slash = Math.max(sourceId.lastIndexOf('/'), sourceId.lastIndexOf('\\'));
    return sourceId.substring(slash + 1);
  }
}
