package dev.cai.runtime.gguf;

import dev.cai.runtime.tokenizer.ByteLevel;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A small byte-level BPE vocabulary (3 ChatML control tokens, the 256 byte tokens and a few dozen English merges)
 * for tiny test models; same layout as SmolLM2's: {@code <|endoftext|>}=0, {@code <|im_start|>}=1,
 * {@code <|im_end|>}=2.
 */
public record TinyVocabulary(List<String> tokens, int[] tokenTypes, List<String> merges) {
  /** Tokens and merges in id order. */
  public TinyVocabulary {
    tokens = List.copyOf(tokens);
    tokenTypes = tokenTypes.clone();
    merges = List.copyOf(merges);
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

  /** The vocabulary: ids 0-2 control tokens, 3-258 the bytes in order, then one token per merge. */
  public static TinyVocabulary create() {
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
    java.util.Arrays.fill(types, 1);
    types[0] = types[1] = types[2] = 3;
    return new TinyVocabulary(tokens, types, merges);
  }

  public int size() {
    return tokens.size();
  }
}
