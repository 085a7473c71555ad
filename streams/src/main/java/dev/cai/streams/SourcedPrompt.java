package dev.cai.streams;

import dev.cai.protocol.v1.Prompt;

/**
 * A prompt with the input position it came from, which a consumer commits atomically with what it made of
 * the prompt (as {@link SlGraph} does) so that a restart resumes after it: {@code sourceId} is the
 * {@link PromptSource#id()} of a file and {@code offset} its line. Prompts offered in memory
 * ({@link LivePrompts.Control#offer}) are not {@code durable}: their offsets number the submissions of one
 * process and must not be committed.
 */
public record SourcedPrompt(String sourceId, long offset, Prompt prompt, boolean durable) {
  public SourcedPrompt {
    if (sourceId == null || sourceId.isEmpty() || prompt == null || offset < 1) {
      throw new IllegalArgumentException("a sourced prompt needs a source id, a prompt and an offset >= 1; got "
          + sourceId + ", " + offset);
    }
  }
}
