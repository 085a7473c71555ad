package dev.cai.runtime.weights;

/**
 * A model file, tokenizer or checkpoint could not be loaded; the message names the file and, where relevant,
 * the tensor or metadata key at fault.
 */
public final class ModelLoadException extends RuntimeException {
  public ModelLoadException(String message) {
    super(message);
  }

  public ModelLoadException(String message, Throwable cause) {
    super(message, cause);
  }
}
