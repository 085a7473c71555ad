package dev.cai.runtime.train;

import com.google.gson.JsonObject;
import dev.cai.runtime.io.Checkpoint;
import dev.cai.runtime.io.CheckpointStore;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.weights.LoadedModel;
import dev.cai.runtime.weights.ModelLoadException;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A training run over examples with an {@link Objective} (SFT, preference model, ...): epochs in a seeded
 * order, {@code batchSize} examples per optimizer step split into micro-batches (gradient accumulation), AdamW
 * with linear warm-up/decay and gradient clipping ({@link Trainer}). Every {@code checkpointEvery} steps and at the end it atomically saves
 * {@code OUT/checkpoints/step-N} (weights, optimizer, trainer state, tokenizer, chat template); a restarted run
 * resumes from the latest one at the same place in the data order, so the result does not depend on restarts.
 * Each step appends a line to {@code OUT/train-metrics.jsonl}; the final model is {@code OUT/model}.
 */
public final class TrainingRun {
  private TrainingRun() {}

  /**
   * Settings of a run.
   *
   * @param batchSize examples per optimizer step
   * @param microBatchSize examples per forward/backward (memory bound)
   */
  public record Settings(int epochs, int batchSize, int microBatchSize, double peakLr, int warmupSteps, double weightDecay,
      double maxGradNorm, int checkpointEvery, long seed) {
    public Settings {
      if (epochs < 1 || batchSize < 1 || microBatchSize < 1 || checkpointEvery < 1 || !(peakLr > 0) || warmupSteps < 0) {
        throw new IllegalArgumentException("SFT settings need epochs, batchSize, microBatchSize, checkpointEvery >= 1, "
            + "peakLr > 0 and warmupSteps >= 0");
      }
    }

    /** These settings with another seed (shuffle order, fresh heads). */
    public Settings withSeed(long other) {
      return new Settings(epochs, batchSize, microBatchSize, peakLr, warmupSteps, weightDecay, maxGradNorm,
          checkpointEvery, other);
    }
  }

  /** What a run did: steps in total, steps run now (after resuming at {@code resumedAt}), first and last loss. */
  public record Result(long steps, long resumedAt, double firstLoss, double lastLoss, Path model) {}

  /**
   * What a run optimises: scalar heads it trains besides the model (none for SFT), how examples become
   * micro-batches, and the loss over one micro-batch.
   */
  public interface Objective<E, T> {
    /** Heads to train, created on {@code model}'s manager from {@code rng} (restored from a checkpoint on resume). */
    List<ScalarHead> heads(LlamaModel model, TrainRng rng);

    List<T> microBatches(List<E> examples, int microBatchSize);

    Trainer.MicroBatchLoss<T> loss(Trainer trainer, List<ScalarHead> heads);

    /** Recorded in checkpoints ({@code trainer_state.json} extra "kind"). */
    String kind();
  }

  public static <E, T> Result run(LoadedModel base, DeviceSetting device, List<E> examples, Path out, Settings s,
      Objective<E, T> objective, Consumer<Trainer.StepResult> onStep) {
    if (examples.isEmpty()) {
      throw new IllegalArgumentException("No training examples");
    }
    long totalSteps = ((long) s.epochs() * examples.size() + s.batchSize() - 1) / s.batchSize();
    // the rate reaches 0 one step after the last, so that every step learns (the only step of a one-step run too)
    Trainer.Settings ts = new Trainer.Settings(new AdamW.Settings(0.9, 0.999, 1e-8, s.weightDecay()),
        new LinearWarmupDecay(s.peakLr(), Math.min(s.warmupSteps(), totalSteps - 1), totalSteps + 1, 0.0),
        s.maxGradNorm());
    Path checkpoints = out.resolve("checkpoints");
    Path tokenizerDir = out.resolve("tokenizer");
    base.tokenizer().save(tokenizerDir, base.chatTemplate().toJinja());
    Optional<Path> tokenizerJson = Optional.of(tokenizerDir.resolve("tokenizer.json"));
    try (LlamaModel model = LlamaModel.create(base.weights(), device)) {
      List<ScalarHead> heads = objective.heads(model, new TrainRng(s.seed()));
      try (Trainer trainer = new Trainer(model, heads, ts)) {
        return train(trainer, heads, examples, out, s, objective, onStep, totalSteps, checkpoints, tokenizerJson);
      } finally {
        heads.forEach(ScalarHead::close);
      }
    }
  }

  private static <E, T> Result train(Trainer trainer, List<ScalarHead> heads, List<E> examples, Path out,
      Settings s, Objective<E, T> objective, Consumer<Trainer.StepResult> onStep, long totalSteps, Path checkpoints,
      Optional<Path> tokenizerJson) {
    Trainer.MicroBatchLoss<T> loss = objective.loss(trainer, heads);
    Optional<Path> latest = latest(checkpoints);
    long resumedAt = 0;
    if (latest.isPresent()) {
      Checkpoint c = load(latest.get());
      trainer.restore(c);
      resumedAt = trainer.step();
    }
    truncateMetrics(out.resolve("train-metrics.jsonl"), resumedAt);
    double first = Double.NaN;
    double last = Double.NaN;
    long t0 = System.nanoTime();
    try (BufferedWriter metrics = Files.newBufferedWriter(out.resolve("train-metrics.jsonl"), StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
      int orderEpoch = -1;
      int[] epochOrder = null;
      for (long step = trainer.step() + 1; step <= totalSteps; step++) {
        List<E> batch = new ArrayList<>();
        for (long i = (step - 1) * s.batchSize(); i < Math.min(step * s.batchSize(), (long) s.epochs() * examples.size()); i++) {
          int epoch = (int) (i / examples.size());
          if (epoch != orderEpoch) { // one shuffle per epoch, not one per example
            epochOrder = order(examples.size(), epoch, s.seed());
            orderEpoch = epoch;
          }
          batch.add(examples.get(epochOrder[(int) (i % examples.size())]));
        }
        Trainer.StepResult r = trainer.step(objective.microBatches(batch, s.microBatchSize()), loss);
        first = Double.isNaN(first) ? r.loss() : first;
        last = r.loss();
        metrics.write(metricsLine(r, batch.size(), (System.nanoTime() - t0) / 1e9));
        metrics.newLine();
        metrics.flush();
        onStep.accept(r);
        if (step % s.checkpointEvery() == 0 || step == totalSteps) {
          save(checkpoints.resolve(String.format("step-%06d", step)), trainer, step * s.batchSize(), tokenizerJson,
              objective.kind());
          prune(checkpoints, 2);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write " + out.resolve("train-metrics.jsonl") + ": " + e.getMessage(), e);
    }
    Path finalModel = out.resolve("model");
    save(finalModel, trainer, totalSteps * s.batchSize(), tokenizerJson, objective.kind());
    return new Result(totalSteps, resumedAt, first, last, finalModel);
  }

  /** The example order of {@code epoch}: a seeded Fisher–Yates shuffle, the same on every resume. */
  static int[] order(int n, int epoch, long seed) {
    SplittableRandom rng = new SplittableRandom(seed * 31 + epoch);
    int[] perm = new int[n];
    for (int i = 0; i < n; i++) {
      perm[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    return perm;
  }

  private static String metricsLine(Trainer.StepResult r, int examples, double elapsed) {
    JsonObject o = new JsonObject();
    o.addProperty("step", r.step());
    o.addProperty("loss", r.loss());
    o.addProperty("grad_norm", r.gradNorm());
    o.addProperty("lr", r.lr());
    o.addProperty("target_tokens", r.weight());
    o.addProperty("examples", examples);
    o.addProperty("elapsed_s", elapsed);
    return o.toString();
  }

  private static void save(Path dir, Trainer trainer, long examplesSeen, Optional<Path> tokenizerJson, String kind) {
    try {
      CheckpointStore.save(dir, trainer.checkpoint(examplesSeen, 0L, Map.of("kind", kind), tokenizerJson));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot save checkpoint " + dir + ": " + e.getMessage(), e);
    }
  }

  private static Checkpoint load(Path dir) {
    try {
      return CheckpointStore.load(dir);
    } catch (IOException e) {
      throw new ModelLoadException("Cannot resume from checkpoint " + dir + ": " + e.getMessage(), e);
    }
  }

  private static Optional<Path> latest(Path checkpoints) {
    return steps(checkpoints).reduce((a, b) -> b);
  }

  private static Stream<Path> steps(Path checkpoints) {
    if (!Files.isDirectory(checkpoints)) {
      return Stream.empty();
    }
    try (Stream<Path> list = Files.list(checkpoints)) {
      return list.filter(p -> p.getFileName().toString().matches("step-\\d+")).sorted(Comparator.naturalOrder())
          .toList().stream();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Keeps the newest {@code keep} step checkpoints. */
  private static void prune(Path checkpoints, int keep) {
    List<Path> all = steps(checkpoints).toList();
    for (int i = 0; i < all.size() - keep; i++) {
      deleteTree(all.get(i));
    }
  }

  private static void deleteTree(Path dir) {
    try {
      CheckpointStore.deleteTree(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot delete old checkpoint " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Drops metric lines of steps after {@code step} (written after the checkpoint a resume starts from). */
  private static void truncateMetrics(Path file, long step) {
    if (!Files.isRegularFile(file)) {
      return;
    }
    try {
      List<String> keep = Files.readAllLines(file, StandardCharsets.UTF_8).stream()
          .filter(l -> !l.isBlank() && com.google.gson.JsonParser.parseString(l).getAsJsonObject().get("step").getAsLong() <= step)
          .toList();
      Files.write(file, keep, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
