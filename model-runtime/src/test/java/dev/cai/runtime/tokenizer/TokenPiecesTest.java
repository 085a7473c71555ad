package dev.cai.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.cai.runtime.gguf.BpeVocabulary;
import org.junit.jupiter.api.Test;

class TokenPiecesTest {
  private static HfTokenizer tiny() {
    BpeVocabulary v = BpeVocabulary.tiny();
    return HfTokenizer.fromJson(BpeTokenizerJson.build(v.tokens(), v.tokenTypes(), v.merges(), "smollm"),
        new HfTokenizer.SpecialTokens(1, 2, 0), "tiny");
  }

  @Test
  void shouldConcatenateToTheDecodedTextWithMultiByteCharactersOnTheTokenThatCompletesThem() {
    try (HfTokenizer tok = tiny()) {
      String text = "<|im_start|>the naïve cat 日本 🚀 said: and the rest of a longer text\n\nok";
      int[] ids = tok.encode(text);
      String[] pieces = TokenPieces.of(tok, ids, false);
      assertEquals(ids.length, pieces.length);
      assertEquals(text, String.join("", pieces));
      assertEquals("<|im_start|>", pieces[0]);
      // "ï" is two byte tokens, "🚀" four: "" on each but the last, then the whole character
      int rocket = -1;
      for (int i = 0; i < pieces.length; i++) {
        if (pieces[i].contains("🚀")) {
          rocket = i;
        }
      }
      assertArrayEquals(new String[] {"", "", "", "🚀"}, java.util.Arrays.copyOfRange(pieces, rocket - 3, rocket + 1));
      assertEquals("the naïve cat 日本 🚀 said: and the rest of a longer text\n\nok",
          String.join("", TokenPieces.of(tok, ids, true)));
    }
  }

  @Test
  void shouldKeepAnUnfinishedCharacterOnTheLastToken() {
    try (HfTokenizer tok = tiny()) {
      int[] ids = tok.encode("a🚀");
      int[] cut = java.util.Arrays.copyOf(ids, ids.length - 1); // the rocket's last byte missing
      String[] pieces = TokenPieces.of(tok, cut, false);
      assertEquals(tok.decode(cut, false), String.join("", pieces));
      assertEquals(0, TokenPieces.of(tok, new int[0], false).length);
    }
  }
}
