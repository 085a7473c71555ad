package dev.cai.runtime.train;

import com.google.gson.JsonObject;
import dev.cai.runtime.eval.RewardModel;
import dev.cai.runtime.io.CheckpointStore;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.weights.LoadedModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * One refresh of continual RLAIF: a trained preference model goes on training (trunk and reward head) on comparisons
 * labeled from the current policy's samples, so that the reward follows the policy; then its normalisation is fitted
 * again on those samples (mean 0, std 1), as {@code cai pm train} fits it on the policy's samples.
 *
 * <p>The result is {@code OUT/model}, complete once its {@value RewardModel#NORMALIZATION} exists (written last,
 * atomically). Training resumes from {@code OUT/checkpoints} like any {@link TrainingRun}, so a refresh interrupted at
 * any point and run again gives the same model.
 */
public final class PreferenceRefresh {
  private PreferenceRefresh() {}

  /** What one refresh did: the model directory, pairs trained on, pairs skipped as too long, the training run. */
  public record Result(Path model, int pairs, int skipped, TrainingRun.Result training, JsonObject normalization) {}

  /** The refreshed model directory under {@code out}. */
  public static Path model(Path out) {
    return out.resolve("model");
  }

  /** Whether the refresh into {@code out} has finished (its normalisation, the last file written, exists). */
  public static boolean isComplete(Path out) {
    return Files.isRegularFile(model(out).resolve(RewardModel.NORMALIZATION));
  }

  /**
   * Trains the PM of directory {@code pm} on {@code examples} into {@code out} and normalises its scores on both
   * responses of {@code normalizeOn}.
   *
   * @param maxLength pairs with a longer sequence are skipped
   */
  public static Result run(Path pm, List<PreferenceData.Example> examples, List<PreferenceData.Example> normalizeOn,
      Path out, TrainingRun.Settings settings, int maxLength, DeviceSetting device, Consumer<Trainer.StepResult> onStep) {
    if (normalizeOn.isEmpty()) {
      throw new IllegalArgumentException("A PM refresh needs samples to normalise its scores on");
    }
    List<PreferenceData.Pair> pairs = new ArrayList<>();
    int skipped = 0;
    TrainingRun.Result training;
    try (LoadedModel base = ModelFiles.load(pm)) {
      for (PreferenceData.Example e : examples) {
        var pair = PreferenceData.encode(e.conversation(), e.a(), e.b(), e.pA(), base.chatTemplate(), base.tokenizer(),
            maxLength);
        if (pair.isPresent()) {
          pairs.add(pair.get());
        } else {
          skipped++;
        }
      }
      if (pairs.isEmpty()) {
        throw new IllegalArgumentException("No comparison to refresh the preference model " + pm + " on: " + skipped
            + " longer than " + maxLength + " tokens");
      }
      training = TrainingRun.run(base, device, pairs, out, settings,
          PreferenceData.objective(base.weights().config(), RewardModel.rewardHead(pm)), onStep);
    }
    JsonObject norm;
    try (RewardModel rm = RewardModel.load(training.model(), device)) {
      norm = RewardModel.writeNormalization(training.model(), rm.rawScoresOfBoth(normalizeOn));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write the normalisation of " + training.model() + ": " + e.getMessage(), e);
    }
    try { // complete: the optimizer state (twice the model) is not needed to resume any more, nor by the next refresh
      CheckpointStore.deleteTree(out.resolve("checkpoints"));
      Files.deleteIfExists(training.model().resolve(CheckpointStore.OPTIMIZER));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot delete the checkpoints of the finished PM refresh " + out + ": "
          + e.getMessage(), e);
    }
    return new Result(training.model(), pairs.size(), skipped, training, norm);
  }
}
