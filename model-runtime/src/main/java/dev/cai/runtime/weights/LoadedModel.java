package dev.cai.runtime.weights;

import dev.cai.runtime.tokenizer.ChatTemplate;
import dev.cai.runtime.tokenizer.HfTokenizer;

/**
 * A model ready to run: float32 weights under Hugging Face Llama names, its tokenizer, its chat template and an
 * id (the file or directory name), from a GGUF file, a Hugging Face directory or a cai checkpoint.
 */
public record LoadedModel(ModelWeights weights, HfTokenizer tokenizer, ChatTemplate chatTemplate, String modelId)
    implements AutoCloseable {

  /** Releases the native tokenizer. */
  @Override
  public void close() {
    tokenizer.close();
  }
}
