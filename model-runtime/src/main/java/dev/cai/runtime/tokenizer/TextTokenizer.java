package dev.cai.runtime.tokenizer;

/** Text ⇄ token ids for one model, plus its special tokens. */
public interface TextTokenizer extends AutoCloseable {
  /** Token ids of {@code text}; no BOS/EOS is added (chat templates add what the model expects). */
  int[] encode(String text);

  /** Text of {@code ids}; special tokens are kept when {@code skipSpecial} is false. */
  String decode(int[] ids, boolean skipSpecial);

  int vocabSize();

  /** End-of-sequence id, or -1. */
  int eosTokenId();

  /** Beginning-of-sequence id, or -1. */
  int bosTokenId();

  /** Padding id distinct from EOS where the vocabulary has one, else -1. */
  int padTokenId();

  /** Id of a single special token by its text (e.g. {@code <|im_end|>}), or -1. */
  int tokenId(String token);

  @Override
  void close();
}
