package dev.cai.runtime.generate;

/** Why a generated sequence ended. */
public enum FinishReason {
  /** The model sampled the end-of-sequence token (included in the tokens). */
  EOS,
  /** The decoded text contains one of the stop strings. */
  STOP_STRING,
  /** {@code maxNewTokens} were generated. */
  LENGTH
}
