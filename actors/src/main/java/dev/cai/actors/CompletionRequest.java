package dev.cai.actors;

import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.tokenizer.ChatMessage;
import java.util.List;

/**
 * One OpenAI-style completion for a {@link CompletionModel}: continue {@code prompt} with up to {@code maxTokens} new
 * tokens, sampled from {@code seed} alone (so the sample does not depend on the batch), optionally with log-probs.
 *
 * @param prompt raw text, or chat messages that the model's chat template renders
 * @param maxTokens most new tokens; 0 generates nothing (the prompt's log-probs only, with {@code echo})
 * @param temperature 0 = greedy
 * @param topP nucleus mass in (0, 1]; 1 = off
 * @param topK sample among the k likeliest tokens; 0 = off
 * @param seed this request's sampling seed
 * @param stop stop strings: the text ends before the first one generated
 * @param logprobs -1 = no log-probs; k in 0..{@value #MAX_LOGPROBS}: each token's log-prob and the k likeliest tokens
 * @param echo the text starts with the prompt, and with log-probs the prompt's tokens come first (the first one
 *     without a log-prob); raw-text prompts only
 */
public record CompletionRequest(Prompt prompt, int maxTokens, double temperature, double topP, int topK, long seed,
    List<String> stop, int logprobs, boolean echo) {
  /** Most alternatives per token that a request may ask for. */
  public static final int MAX_LOGPROBS = 20;

  /** What to continue. */
  public sealed interface Prompt {}

  /** Raw text, tokenized as it is (no template, no BOS added). */
  public record Text(String text) implements Prompt {
    public Text {
      java.util.Objects.requireNonNull(text, "text");
    }
  }

  /** A conversation, rendered with the model's chat template and an open assistant turn. */
  public record Chat(List<ChatMessage> messages) implements Prompt {
    public Chat {
      messages = List.copyOf(messages);
      if (messages.isEmpty()) {
        throw new IllegalArgumentException("a chat prompt needs at least one message");
      }
    }
  }

  public CompletionRequest {
    java.util.Objects.requireNonNull(prompt, "prompt");
    stop = List.copyOf(stop);
    if (maxTokens < 0) {
      throw new IllegalArgumentException("maxTokens must be >= 0, got " + maxTokens);
    }
    GenerationSettings.checkSampling(temperature, topP, topK, stop);
    if (logprobs < -1 || logprobs > MAX_LOGPROBS) {
      throw new IllegalArgumentException("logprobs must be -1 (none) or in 0.." + MAX_LOGPROBS + ", got " + logprobs);
    }
    if (echo && prompt instanceof Chat) {
      throw new IllegalArgumentException("echo needs a raw-text prompt");
    }
  }
}
