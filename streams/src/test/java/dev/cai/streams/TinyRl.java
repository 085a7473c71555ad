package dev.cai.streams;

import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.train.PreferenceData;
import dev.cai.runtime.train.TrainingRun;
import dev.cai.runtime.weights.LoadedModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/** Tiny random-weight RL inputs the tests write themselves: an SL "checkpoint" (GGUF), a PM directory, prompts. */
final class TinyRl {
  private TinyRl() {}

  /** A tiny F32 policy (exact weights) at {@code dir/policy.gguf}. */
  static Path policy(Path dir) throws Exception {
    Path gguf = dir.resolve("policy.gguf");
    TinyLlama.write(gguf, 3, GgmlType.F32);
    return gguf;
  }

  /** A tiny preference model trained for one step from {@code base}: {@code dir/pm/model} (trunk + reward head). */
  static Path preferenceModel(Path dir, Path base) throws Exception {
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

  /** {@code n} one-line prompts; the ones at the 1-based lines in {@code tooLong} do not fit a 2048-token context. */
  static Path prompts(Path file, int n, int... tooLong) throws Exception {
    List<String> lines = IntStream.rangeClosed(1, n).mapToObj(i -> {
      boolean longOne = IntStream.of(tooLong).anyMatch(t -> t == i);
      return "{\"prompt\": \"" + (longOne ? "word ".repeat(3000) : "question number " + i + "?") + "\"}";
    }).toList();
    return Files.write(file, lines);
  }
}
