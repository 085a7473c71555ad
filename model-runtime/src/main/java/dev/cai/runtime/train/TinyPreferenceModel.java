package dev.cai.runtime.train;

import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.weights.LoadedModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A preference model trained for one step on four soft pairs ("kind" over "rude", p = 0.8) from a tiny base model
 * ({@link dev.cai.runtime.gguf.TinyLlama}): a real PM directory (trunk, reward head) for tests of every module that
 * score with one, without training a useful model.
 */
public final class TinyPreferenceModel {
  private TinyPreferenceModel() {}

  /** Trains it from {@code base} into {@code dir/pm}; returns the model directory {@code dir/pm/model}. */
  public static Path train(Path base, Path dir) {
    try (LoadedModel m = ModelFiles.load(base)) {
      List<PreferenceData.Pair> pairs = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        pairs.add(PreferenceData.encode(List.of(ChatMessage.user("q" + i)), "kind", "rude", 0.8, m.chatTemplate(),
            m.tokenizer(), 64).orElseThrow());
      }
      TrainingRun.run(m, DeviceSetting.CPU, pairs, dir.resolve("pm"), new TrainingRun.Settings(1, 4, 2, 1e-3, 0, 0, 1, 5, 1),
          PreferenceData.objective(m.weights().config()), s -> { });
    }
    return dir.resolve("pm/model");
  }
}
