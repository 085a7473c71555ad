package dev.cai.runtime.gguf;

import dev.cai.runtime.tokenizer.ByteLevel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A byte-level BPE vocabulary as llama.cpp stores it in GGUF metadata: tokens (index = id), llama.cpp token types,
 * merges ("left right", best first) and the pre-tokenizer name ({@code tokenizer.ggml.pre}).
 */
public record BpeVocabulary(List<String> tokens, int[] tokenTypes, List<String> merges, String pre) {
  public BpeVocabulary {
    tokens = List.copyOf(tokens);
    tokenTypes = tokenTypes.clone();
    merges = List.copyOf(merges);
    if (tokenTypes.length != tokens.size()) {
      throw new IllegalArgumentException(tokenTypes.length + " token types for " + tokens.size() + " tokens");
    }
  }

  public static final String END_OF_TEXT = "<|endoftext|>";
  public static final String IM_START = "<|im_start|>";
  public static final String IM_END = "<|im_end|>";

  /** Merge pairs, written with spaces as the byte-level 'Ġ' and newlines as 'Ċ'. */
  private static final String[][] MERGES = {
      {"Ġ", "t"}, {"h", "e"}, {"i", "n"}, {"e", "r"}, {"a", "n"}, {"Ġ", "a"}, {"o", "n"}, {"r", "e"},
      {"a", "t"}, {"e", "n"}, {"Ġt", "he"}, {"o", "u"}, {"Ġ", "s"}, {"Ġ", "w"}, {"i", "s"}, {"o", "r"},
      {"Ġ", "c"}, {"e", "s"}, {"i", "t"}, {"Ġ", "o"}, {"Ġ", "b"}, {"in", "g"}, {"Ġ", "f"}, {"Ġ", "p"},
      {"e", "d"}, {"a", "r"}, {"Ġ", "m"}, {"Ġ", "h"}, {"a", "l"}, {"Ġ", "I"}, {"l", "l"}, {"Ġ", "d"},
      {"Ġa", "n"}, {"Ġan", "d"}, {"Ġt", "o"}, {"Ġo", "f"}, {"Ġ", "y"}, {"Ġy", "ou"}, {"Ġ", "H"},
      {"Ġ", "A"}, {"u", "s"}, {"Ġ", "Ġ"}, {"Ċ", "Ċ"}};

  /**
   * A small vocabulary for tiny test models, laid out like SmolLM2's: ids 0-2 the control tokens
   * {@code <|endoftext|>}, {@code <|im_start|>}, {@code <|im_end|>}; 3-258 the 256 byte tokens in byte order; then one
   * token per English merge (about 300 in all); pre-tokenizer "smollm".
   */
  public static BpeVocabulary tiny() {
    List<String> tokens = new ArrayList<>(List.of(END_OF_TEXT, IM_START, IM_END));
    for (int b = 0; b < 256; b++) {
      tokens.add(String.valueOf(ByteLevel.charOf(b)));
    }
    Set<String> known = new HashSet<>(tokens);
    List<String> merges = new ArrayList<>();
    for (String[] m : MERGES) {
      if (!known.contains(m[0]) || !known.contains(m[1])) {
        throw new IllegalStateException("Merge of unknown tokens " + m[0] + " " + m[1]);
      }
      merges.add(m[0] + " " + m[1]);
      if (known.add(m[0] + m[1])) {
        tokens.add(m[0] + m[1]);
      }
    }
    int[] types = new int[tokens.size()];
    Arrays.fill(types, 1);
    types[0] = types[1] = types[2] = 3;
    return new BpeVocabulary(tokens, types, merges, "smollm");
  }

  public int size() {
    return tokens.size();
  }
}
