package dev.cai.runtime.generate;

import dev.cai.runtime.tokenizer.TextTokenizer;

/** Text of generated token ids, used to detect stop strings and to return text. */
@FunctionalInterface
public interface TokenDecoder {
  String decode(int[] ids);

  /** Decoder of a tokenizer, skipping special tokens. */
  static TokenDecoder of(TextTokenizer tokenizer) {
    return ids -> tokenizer.decode(ids, true);
  }
}
