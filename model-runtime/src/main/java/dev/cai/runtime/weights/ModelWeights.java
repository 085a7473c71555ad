package dev.cai.runtime.weights;

import dev.cai.runtime.model.LlamaConfig;
import java.util.Map;

/**
 * Everything a loader hands to the model: the config and float32 tensors keyed by their canonical
 * Hugging Face Llama names (see {@link TensorNames}); {@code source} names the file or directory for errors.
 */
public record ModelWeights(LlamaConfig config, Map<String, HostTensor> tensors, String source) {
  public ModelWeights {
    tensors = Map.copyOf(tensors);
  }

  /** The tensor, or an error naming the missing tensor and the source it should have come from. */
  public HostTensor require(String name) {
    HostTensor t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException("Missing tensor '" + name + "' in " + source);
    }
    return t;
  }
}
