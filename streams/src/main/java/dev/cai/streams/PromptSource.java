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
}
