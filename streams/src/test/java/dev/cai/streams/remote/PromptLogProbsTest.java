package dev.cai.streams.remote;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class PromptLogProbsTest {
  /** "The answer is: (A)" as tokens, with per-token log-probs (the first has none). */
  private static final List<String> TOKENS = List.of("The", " answer", " is", ":", " (", "A", ")");
  private static final List<Double> LPS = Arrays.asList(null, -2.0, -1.5, -0.25, -0.5, -1.25, -0.125);

  @Test
  void shouldSumTheLogProbsOfTheOptionTokens() {
    PromptLogProbs.Scored s = PromptLogProbs.optionLogProb(TOKENS, LPS, List.of(0, 3, 10, 13, 14, 16, 17), 0, " (A)");
    assertEquals(new PromptLogProbs.Scored(-1.875, 4, 3), s); // -0.5 - 1.25 - 0.125
  }

  @Test
  void shouldFindTheBoundaryFromTheEndWhenABosIsCountedInTheOffsets() {
    List<String> tokens = List.of("<|begin_of_text|>", "The", " answer", " is", ":", " (", "A", ")");
    List<Double> lps = Arrays.asList(null, -7.0, -2.0, -1.5, -0.25, -0.5, -1.25, -0.125);
    // offsets shifted by the 17 characters of the BOS text
    PromptLogProbs.Scored s = PromptLogProbs.optionLogProb(tokens, lps, List.of(0, 17, 20, 27, 30, 31, 33, 34), 0, " (A)");
    assertEquals(new PromptLogProbs.Scored(-1.875, 5, 3), s);
  }

  @Test
  void shouldCountOffsetsInCodePoints() {
    // "Hi 🙂: (B)": the emoji is one code point (two UTF-16 chars), as Python's len counts it
    List<String> tokens = List.of("Hi", " 🙂", ":", " (", "B", ")");
    List<Double> lps = Arrays.asList(null, -1.0, -1.0, -0.5, -0.75, -0.25);
    PromptLogProbs.Scored s = PromptLogProbs.optionLogProb(tokens, lps, List.of(0, 2, 4, 5, 7, 8), 0, " (B)");
    assertEquals(new PromptLogProbs.Scored(-1.5, 3, 3), s);
  }

  @Test
  void shouldIgnoreTrailingGeneratedTokens() {
    List<String> tokens = List.of("The", " answer", " is", ":", " (", "A", ")", "\n");
    List<Double> lps = Arrays.asList(null, -2.0, -1.5, -0.25, -0.5, -1.25, -0.125, -9.0);
    PromptLogProbs.Scored s = PromptLogProbs.optionLogProb(tokens, lps, List.of(0, 3, 10, 13, 14, 16, 17, 18), 1, " (A)");
    assertEquals(-1.875, s.logProb(), 0.0);
  }

  @Test
  void shouldRefuseATokenThatMergesTheContextWithTheOption() {
    // "The: (A)" where the tokenizer made ": (" one token: the option does not start at a token boundary
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PromptLogProbs.optionLogProb(
        List.of("The", ": (", "A", ")"), Arrays.asList(null, -1.0, -1.0, -1.0), List.of(0, 3, 6, 7), 0, " (A)"));
    assertEquals("token 1 ': (' at text_offset 3 spans the start of the option ' (A)' at 4: the server's tokenizer "
        + "merged the context with the option, so log p(option | context) is undefined", e.getMessage());
  }

  @Test
  void shouldRefuseAnOptionTokenWithoutALogProb() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PromptLogProbs.optionLogProb(TOKENS,
        Arrays.asList(null, -2.0, -1.5, -0.25, -0.5, null, -0.125), List.of(0, 3, 10, 13, 14, 16, 17), 0, " (A)"));
    assertEquals("option token 5 'A' has no log-prob", e.getMessage());
  }

  @Test
  void shouldRefuseLogProbsThatDoNotCoverTheContext() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PromptLogProbs.optionLogProb(
        List.of(" (", "A", ")"), Arrays.asList(-0.5, -1.25, -0.125), List.of(14, 16, 17), 0, " (A)"));
    assertTrue(e.getMessage().contains("did not echo the context's log-probs"), e.getMessage());
  }

  @Test
  void shouldRefuseListsOfDifferentLengths() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PromptLogProbs.optionLogProb(TOKENS,
        LPS, List.of(0, 3), 0, " (A)"));
    assertEquals("logprobs has 7 tokens, 7 token_logprobs and 2 text_offset entries; they must be as many", e.getMessage());
  }

  @Test
  void shouldRefuseDecreasingOffsets() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PromptLogProbs.optionLogProb(TOKENS,
        LPS, List.of(0, 3, 10, 9, 14, 16, 17), 0, " (A)"));
    assertEquals("text_offset decreases at token 3 (10 then 9)", e.getMessage());
  }
}
