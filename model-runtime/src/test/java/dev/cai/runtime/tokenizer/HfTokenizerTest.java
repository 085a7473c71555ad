package dev.cai.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.gguf.BpeVocabulary;
import dev.cai.runtime.weights.ModelLoadException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfTokenizerTest {
  private static final BpeVocabulary VOCAB = BpeVocabulary.tiny();

  private static HfTokenizer tiny() {
    String json = BpeTokenizerJson.build(VOCAB.tokens(), VOCAB.tokenTypes(), VOCAB.merges(), "smollm");
    return HfTokenizer.fromJson(json, new HfTokenizer.SpecialTokens(1, 2, 0), "tiny");
  }

  private int id(String token) {
    return VOCAB.tokens().indexOf(token);
  }

  @Test
  void shouldApplyMergesAndKeepControlTokensWhole() {
    try (HfTokenizer tok = tiny()) {
      int[] ids = tok.encode("<|im_start|>the cat<|im_end|>");
      // "the" has no merge at the start ("t"+"he"), " cat" = "Ġc" + "a" + "t" ... merges: "Ġ c" then "a t"
      assertArrayEquals(new int[] {1, id("t"), id("he"), id("Ġc"), id("at"), 2}, ids);
      assertEquals("<|im_start|>the cat<|im_end|>", tok.decode(ids, false));
      assertEquals("the cat", tok.decode(ids, true));
    }
  }

  @Test
  void shouldSplitDigitsIndividuallyForSmollmPreTokenizer() {
    try (HfTokenizer tok = tiny()) {
      assertArrayEquals(new int[] {id("1"), id("2"), id("3")}, tok.encode("123"));
    }
  }

  @Test
  void shouldRoundTripUnicodeThroughBytes() {
    try (HfTokenizer tok = tiny()) {
      String text = "naïve 日本 🚀\n\n  x";
      int[] ids = tok.encode(text);
      assertEquals(text, tok.decode(ids, false));
      assertTrue(ids.length > 10);
    }
  }

  @Test
  void shouldNotTruncateLongInputs() {
    try (HfTokenizer tok = tiny()) {
      String text = "ab ".repeat(3000);
      // "a","b", then 2999 x ("Ġa","b"), then a trailing "Ġ"
      assertEquals(6001, tok.encode(text).length);
    }
  }

  @Test
  void shouldReportVocabularyAndSpecialTokens() {
    try (HfTokenizer tok = tiny()) {
      assertEquals(VOCAB.size(), tok.vocabSize());
      assertEquals(1, tok.bosTokenId());
      assertEquals(2, tok.eosTokenId());
      assertEquals(0, tok.padTokenId());
      assertEquals(2, tok.tokenId("<|im_end|>"));
      assertEquals(-1, tok.tokenId("<nope>"));
      assertEquals("Ġthe", tok.token(tok.encode(" the")[0]));
    }
  }

  @Test
  void shouldLoadTokenizerJsonWithSiblingConfig(@TempDir Path dir) throws Exception {
    String json = BpeTokenizerJson.build(VOCAB.tokens(), VOCAB.tokenTypes(), VOCAB.merges(), "gpt2");
    Files.writeString(dir.resolve("tokenizer.json"), json, StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("tokenizer_config.json"),
        "{\"bos_token\":\"<|im_start|>\",\"eos_token\":{\"content\":\"<|im_end|>\"},\"pad_token\":\"<|im_end|>\"}");
    try (HfTokenizer tok = HfTokenizer.load(dir)) {
      assertEquals(1, tok.bosTokenId());
      assertEquals(2, tok.eosTokenId());
      assertEquals(-1, tok.padTokenId());
      // GPT-2 pre-tokenizer keeps digit runs together (no merges for them, so still bytes)
      assertEquals(3, tok.encode("123").length);
    }
  }

  @Test
  void shouldFailClearlyOnMissingOrCorruptFile(@TempDir Path dir) throws Exception {
    Path missing = dir.resolve("nope.json");
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> HfTokenizer.load(missing));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());

    Path corrupt = dir.resolve("tokenizer.json");
    Files.writeString(corrupt, "{\"model\": {\"type\": \"BPE\"");
    e = assertThrows(ModelLoadException.class, () -> HfTokenizer.load(corrupt));
    assertTrue(e.getMessage().contains(corrupt.toString()), e.getMessage());
  }

  @Test
  void shouldBuildWorkingTokenizersForEveryKnownPreTokenizer() {
    for (String pre : new String[] {"default", "gpt2", "smollm", "starcoder", "llama-bpe", "llama3", "qwen2"}) {
      String json = BpeTokenizerJson.build(VOCAB.tokens(), VOCAB.tokenTypes(), VOCAB.merges(), pre);
      try (HfTokenizer tok = HfTokenizer.fromJson(json, HfTokenizer.SpecialTokens.NONE, pre)) {
        String text = "<|im_start|>user\nIt's 2024: the cat, 🚀!<|im_end|>";
        int[] ids = tok.encode(text);
        assertEquals(1, ids[0], pre);
        assertEquals(2, ids[ids.length - 1], pre);
        assertEquals(text, tok.decode(ids, false), pre);
      }
    }
    assertThrows(IllegalArgumentException.class,
        () -> BpeTokenizerJson.build(VOCAB.tokens(), VOCAB.tokenTypes(), VOCAB.merges(), "made-up"));
  }

  @Test
  void shouldRespellTokensOutsideTheByteAlphabet() {
    assertEquals("Ġ", String.valueOf(ByteLevel.charOf(' ')));
    assertEquals("Ċ", String.valueOf(ByteLevel.charOf('\n')));
    assertEquals("Ã©", ByteLevel.spell("é"));
    assertTrue(ByteLevel.isSpelled("ĠtheĊ"));
    assertEquals(' ', ByteLevel.byteOf('Ġ'));
    assertEquals(-1, ByteLevel.byteOf('€'));
  }

  @Test
  void shouldRejectOutOfRangeDecodeIds() {
    try (HfTokenizer tok = tiny()) {
      assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {VOCAB.size()}, false));
    }
  }
}
