package dev.cai.runtime.gguf;

import dev.cai.runtime.tokenizer.ChatTemplate;
import dev.cai.runtime.tokenizer.HfTokenizer;
import dev.cai.runtime.weights.ModelWeights;

/**
 * Everything loaded from one GGUF file: float32 weights under Hugging Face Llama names, the tokenizer built from
 * its metadata, its chat template and an id (the file name without {@code .gguf}).
 */
public record GgufModel(ModelWeights weights, HfTokenizer tokenizer, ChatTemplate chatTemplate, String modelId)
    implements AutoCloseable {

  /** Releases the native tokenizer. */
  @Override
  public void close() {
    tokenizer.close();
  }
}
