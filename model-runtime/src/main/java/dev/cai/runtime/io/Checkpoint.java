package dev.cai.runtime.io;

import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelWeights;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * One saved training state in host memory: model weights with config, scalar heads (e.g. {@code value_head.weight}),
 * optional optimizer and trainer state, and the {@code tokenizer.json} that goes with the model, if any.
 */
public record Checkpoint(ModelWeights model, Map<String, HostTensor> heads, Optional<OptimizerState> optimizer,
    Optional<TrainerState> trainerState, Optional<Path> tokenizerJson) {
  public Checkpoint {
    heads = Map.copyOf(heads);
    for (String name : heads.keySet()) {
      if (model.tensors().containsKey(name)) {
        throw new IllegalArgumentException("Head tensor '" + name + "' clashes with a model tensor");
      }
    }
    if (optimizer.isPresent() && trainerState.isPresent()
        && optimizer.get().step() != trainerState.get().step()) {
      throw new IllegalArgumentException("Optimizer step " + optimizer.get().step()
          + " differs from trainer step " + trainerState.get().step());
    }
  }
}
