package dev.cai.actors;

import dev.cai.runtime.generate.FinishReason;
import java.util.List;
import java.util.Optional;

/** What a {@link CompletionModel} answers to one {@link CompletionRequest}: the completion, or why it was refused. */
public sealed interface CompletionReply {

  /**
   * A completion.
   *
   * @param text the new text (after the prompt when echoed), cut before a stop string, special tokens left out
   * @param finishReason EOS or a stop string ended it, or {@code maxTokens} (also when that was 0)
   * @param promptTokens tokens of the (rendered) prompt
   * @param completionTokens new tokens, including an EOS and the tokens of a stop string
   * @param logprobs the log-probs, when the request asked for them
   */
  record Completed(String text, FinishReason finishReason, int promptTokens, int completionTokens,
      Optional<TokenLogProbs> logprobs) implements CompletionReply {}

  /** The request cannot be served as asked (an empty prompt, or more tokens than the context); the message says why. */
  record Rejected(String message) implements CompletionReply {}

  /**
   * Per-token log-probabilities log_softmax(logits) at temperature 1 (the model's own distribution, whatever the
   * sampling temperature), OpenAI's legacy {@code logprobs} object: echoed prompt tokens first, then new tokens.
   *
   * @param tokens the text each token adds; they concatenate to the echoed prompt (as the tokenizer decodes it,
   *     special tokens kept) followed by the new text (special tokens add "")
   * @param tokenLogProbs log p(token | tokens before it); null for the first prompt token, which has no context
   * @param top per token the {@code logprobs} likeliest tokens, likeliest first, plus the token itself when it is not
   *     among them; null where {@code tokenLogProbs} is
   * @param textOffsets where each token's text starts, in Unicode code points from the start of the returned text
   */
  record TokenLogProbs(List<String> tokens, List<Float> tokenLogProbs, List<List<Alternative>> top,
      List<Integer> textOffsets) {
    public TokenLogProbs {
      if (tokenLogProbs.size() != tokens.size() || top.size() != tokens.size() || textOffsets.size() != tokens.size()) {
        throw new IllegalArgumentException(tokens.size() + " tokens but " + tokenLogProbs.size() + " log-probs, "
            + top.size() + " top-k lists and " + textOffsets.size() + " offsets");
      }
      tokens = List.copyOf(tokens);
      tokenLogProbs = java.util.Collections.unmodifiableList(new java.util.ArrayList<>(tokenLogProbs)); // holds nulls
      top = java.util.Collections.unmodifiableList(new java.util.ArrayList<>(top));
      textOffsets = List.copyOf(textOffsets);
    }
  }

  /** A token at one position: its text alone (decoded by itself, special tokens kept), its id and log-prob. */
  record Alternative(String token, int id, float logProb) {}
}
