package dev.cai.streams.remote;

import java.util.List;

/**
 * log p(option | context) read from the prompt log-probabilities that an OpenAI-compatible {@code /completions}
 * call with {@code echo: true, max_tokens: 0, logprobs: 1} returns for the prompt {@code context + option}: the
 * log-probs of the option's tokens, summed. The option's tokens are found from {@code text_offset}s counted back
 * from the end of the echoed text (offset of the last token plus its length), so a BOS token that the server
 * prepends, counted in the offsets or not, does not move the boundary. Lengths are counted in Unicode code points
 * (as Python's {@code len}, which vLLM uses). The boundary must fall between two tokens: a token that spans it means
 * the server's tokenizer merged the end of the context with the option, and log p(option | context) is undefined.
 */
public final class PromptLogProbs {
  private PromptLogProbs() {}

  /**
   * The option's summed log-probability and how many tokens preceded it (context and any BOS).
   *
   * @param logProb log p(option | context)
   * @param contextTokens echoed tokens before the option
   * @param optionTokens tokens of the option
   */
  public record Scored(double logProb, int contextTokens, int optionTokens) {}

  /**
   * Sums the log-probs of the tokens that make up the last {@code option.length()} characters of the echoed prompt.
   *
   * @param tokens {@code logprobs.tokens}: token texts, prompt first
   * @param tokenLogProbs {@code logprobs.token_logprobs}: null for the first token
   * @param textOffsets {@code logprobs.text_offset}: where each token starts in the echoed text
   * @param generated trailing entries that are generated tokens, not prompt tokens (0 with {@code max_tokens: 0})
   * @param option the option text at the end of the prompt
   * @throws IllegalArgumentException naming the problem when the lists cannot hold the option's prompt log-probs
   */
  public static Scored optionLogProb(List<String> tokens, List<Double> tokenLogProbs, List<Integer> textOffsets,
      int generated, String option) {
    int n = tokens.size() - generated;
    if (tokens.size() != tokenLogProbs.size() || tokens.size() != textOffsets.size()) {
      throw new IllegalArgumentException("logprobs has " + tokens.size() + " tokens, " + tokenLogProbs.size()
          + " token_logprobs and " + textOffsets.size() + " text_offset entries; they must be as many");
    }
    if (n < 2) {
      throw new IllegalArgumentException("logprobs holds " + n + " prompt tokens: the server did not echo the prompt's "
          + "log-probs");
    }
    for (int i = 1; i < n; i++) {
      if (textOffsets.get(i) < textOffsets.get(i - 1)) {
        throw new IllegalArgumentException("text_offset decreases at token " + i + " (" + textOffsets.get(i - 1) + " then "
            + textOffsets.get(i) + ")");
      }
    }
    int end = textOffsets.get(n - 1) + codePoints(tokens.get(n - 1));
    int boundary = end - codePoints(option);
    if (boundary <= textOffsets.get(0)) {
      throw new IllegalArgumentException("the echoed prompt tokens span " + (end - textOffsets.get(0)) + " characters, "
          + "no more than the option '" + option + "': the server did not echo the context's log-probs");
    }
    double sum = 0;
    int contextTokens = 0;
    for (int i = 0; i < n; i++) {
      int start = textOffsets.get(i);
      int next = i + 1 < n ? textOffsets.get(i + 1) : end;
      if (start < boundary) {
        contextTokens++;
        if (next > boundary) {
          throw new IllegalArgumentException("token " + i + " '" + tokens.get(i) + "' at text_offset " + start
              + " spans the start of the option '" + option + "' at " + boundary + ": the server's tokenizer merged the "
              + "context with the option, so log p(option | context) is undefined");
        }
        continue;
      }
      Double lp = tokenLogProbs.get(i);
      if (lp == null || lp.isNaN()) {
        throw new IllegalArgumentException("option token " + i + " '" + tokens.get(i) + "' has no log-prob");
      }
      sum += lp;
    }
    return new Scored(sum, contextTokens, n - contextTokens);
  }

  private static int codePoints(String s) {
    return s.codePointCount(0, s.length());
  }
}
