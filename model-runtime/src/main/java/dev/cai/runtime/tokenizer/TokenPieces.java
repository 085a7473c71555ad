package dev.cai.runtime.tokenizer;

import java.util.Arrays;

/**
 * The text each token of a sequence adds to its decoded text (incremental detokenization), so that the pieces
 * concatenate to the text of the whole sequence: a token that ends inside a multi-byte character (byte-level BPE)
 * adds "" and the token that completes the character adds all of it. What a token adds is read from a short window of
 * the tokens before it, so the cost is linear in the length.
 */
public final class TokenPieces {
  /** Tokens of left context decoded with each token: more than the 4 bytes of the longest UTF-8 character. */
  private static final int WINDOW = 6;
  private static final char REPLACEMENT = '\uFFFD';

  private TokenPieces() {}

  /** The piece of text each of {@code ids} adds; special tokens add "" when {@code skipSpecial}. */
  public static String[] of(TextTokenizer tokenizer, int[] ids, boolean skipSpecial) {
    String[] out = new String[ids.length];
    for (int i = 0; i < ids.length; i++) {
      int from = Math.max(0, i - WINDOW);
      boolean last = i == ids.length - 1;
      String before = complete(tokenizer.decode(Arrays.copyOfRange(ids, from, i), skipSpecial));
      String with = tokenizer.decode(Arrays.copyOfRange(ids, from, i + 1), skipSpecial);
      if (!last) {
        with = complete(with); // an unfinished character is added by the token that finishes it
      }
      out[i] = with.startsWith(before) ? with.substring(before.length())
          : tokenizer.decode(new int[] {ids[i]}, skipSpecial); // a decoder that rewrites earlier text: the token alone
    }
    return out;
  }

  /** {@code text} without the replacement characters that an unfinished trailing UTF-8 sequence decodes to. */
  private static String complete(String text) {
    int end = text.length();
    while (end > 0 && text.charAt(end - 1) == REPLACEMENT) {
      end--;
    }
    return text.substring(0, end);
  }
}
