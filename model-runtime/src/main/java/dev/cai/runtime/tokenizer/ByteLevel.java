package dev.cai.runtime.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * GPT-2's byte-level alphabet: each of the 256 byte values spelled as one printable Unicode character, so that
 * byte-level BPE vocabularies are plain strings (see the {@code bytes_to_unicode} table of
 * <a href="https://github.com/openai/gpt-2/blob/master/src/encoder.py">openai/gpt-2 encoder.py</a>).
 */
public final class ByteLevel {
  private static final char[] BYTE_TO_CHAR = buildTable();

  private ByteLevel() {}

  /** The character that spells byte {@code b} (0..255). */
  public static char charOf(int b) {
    return BYTE_TO_CHAR[b & 0xFF];
  }

  /** True when every character of {@code token} belongs to the byte-level alphabet. */
  public static boolean isSpelled(String token) {
    for (int i = 0; i < token.length(); i++) {
      if (byteOf(token.charAt(i)) < 0) {
        return false;
      }
    }
    return true;
  }

  /** The byte spelled by {@code c}, or -1 when {@code c} is not in the alphabet. */
  public static int byteOf(char c) {
    // printable bytes map to themselves; the 68 others map to U+0100.. in byte order
    if ((c >= '!' && c <= '~') || (c >= '¡' && c <= '¬') || (c >= '®' && c <= 'ÿ')) {
      return c;
    }
    for (int b = 0; b < 256; b++) {
      if (BYTE_TO_CHAR[b] == c) {
        return b;
      }
    }
    return -1;
  }

  /** The UTF-8 bytes of {@code text} spelled in the byte-level alphabet. */
  public static String spell(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    StringBuilder sb = new StringBuilder(bytes.length);
    for (byte b : bytes) {
      sb.append(charOf(b));
    }
    return sb.toString();
  }

  private static char[] buildTable() {
    char[] table = new char[256];
    int next = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      table[b] = printable ? (char) b : (char) (256 + next++);
    }
    return table;
  }
}
