package dev.cai.streams;

import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.train.TinyPreferenceModel;
import java.nio.file.Files;
import java.nio.file.Path;
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
    return TinyPreferenceModel.train(base, dir);
  }

  /** {@code n} one-line prompts; the ones at the 1-based lines in {@code tooLong} do not fit a 2048-token context. */
  static Path prompts(Path file, int n, int... tooLong) throws Exception {
    List<String> lines = IntStream.rangeClosed(1, n).mapToObj(i -> {
      boolean longOne = IntStream.of(tooLong).anyMatch(t -> t == i);
      return "{\"prompt\": \"" + (longOne ? "word ".repeat(3000) : "question number " + i + "?") + "\"}";
    }).toList();
    return Files.write(file, lines);
  }

  /** Small, fast PPO settings: 2 epochs of minibatches of 2, a large learning rate so that updates show. */
  static RlSettings rl(int batchSize, int lag, int commitEvery) {
    return rl(batchSize, lag, commitEvery, 1);
  }

  /** Like {@link #rl(int, int, int)} with {@code policyActors} policy actors sharing each batch. */
  static RlSettings rl(int batchSize, int lag, int commitEvery, int policyActors) {
    dev.cai.runtime.ppo.PpoSettings ppo = new dev.cai.runtime.ppo.PpoSettings(2, 2, 2, 1e-3, 1e-3, 1.0, 0.2, 0.2, 0.1,
        0.0, 1.0, 0.95, false, 0.8, dev.cai.runtime.ppo.Rewards.KlEstimator.K1, -1.0, 0.05, false, 6.0, 10_000, lag, 2.0);
    return new RlSettings(ppo, batchSize, 6, 7L, commitEvery, RlSettings.CriticInit.PM, policyActors,
        java.time.Duration.ofMinutes(2), 1);
  }

  /** A job on the tiny models, on CPU, metrics in {@code runDir}. */
  static RlJob.Config job(Path runDir, Path policy, Path pm, Path prompts, RlSettings rl, long updates,
      java.util.Optional<Path> export) {
    return new RlJob.Config(policy, pm, List.of(new dev.cai.streams.PromptSource(prompts, false)), rl, updates,
        new dev.cai.actors.BatchingSettings(8, java.time.Duration.ofMillis(5), 64, java.time.Duration.ofMillis(100),
            java.time.Duration.ofSeconds(1)),
        DeviceSetting.CPU, java.util.Optional.of(runDir.resolve(RlJob.METRICS_FILE)), export);
  }

  /**
   * Continual RLAIF on the tiny models: every {@code every} batches, {@code pairs} pairs labeled by {@code feedback}
   * (debiased, one principle), a refresh of one pass at a large learning rate; the newest 3 refreshed PMs are kept in
   * RUN_DIR/pm-refresh.
   */
  static RlJob.Continual continual(Path runDir, Path feedback, int every, int pairs) {
    LabelGraph.Settings labeling = new LabelGraph.Settings(1, 1, java.time.Duration.ofSeconds(1), 5L, 0, true, 1, false,
        0.05, 0.95, false, 0);
    PmRefresher.Settings refresh = new PmRefresher.Settings(every, pairs,
        new dev.cai.runtime.train.TrainingRun.Settings(1, 2, 2, 1e-3, 0, 0, 1.0, Integer.MAX_VALUE, 7), 1024, 3);
    return new RlJob.Continual(ModelSpec.local(feedback), dev.cai.runtime.constitution.ConstitutionLoader.loadDefault(),
        labeling, dev.cai.runtime.generate.GenerationSettings.greedy(8), dev.cai.streams.remote.RemoteSettings.defaults(),
        refresh, runDir.resolve("pm-refresh"));
  }
}
