package dev.cai.app;

import com.typesafe.config.Config;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.protocol.v1.SlExample;
import dev.cai.runtime.constitution.CritiquePrompts;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.train.SftData;
import dev.cai.runtime.train.TrainingRun;
import dev.cai.runtime.weights.LoadedModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code cai sl train}: fine-tune on the SL-CAI examples of a run. */
@Command(name = "train", mixinStandardHelpOptions = true,
    description = "Fine-tune the model on (prompt, final revision) and the helpful answers of RUN_DIR (loss on the reply "
        + "only); checkpoints in RUN_DIR/sl-train (resumes from the latest), loss curve in RUN_DIR/sl-train/train-metrics.jsonl, "
        + "the SL-CAI model in RUN_DIR/sl-train/model.")
final class SlTrainCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;
  @Mixin ModelOptions model;

  @Option(names = "--run", required = true, paramLabel = "RUN_DIR", description = "Run directory written by cai sl generate.")
  Path run;

  @Option(names = "--epochs", description = "Passes over the data (default: cai.sl.train.epochs).")
  Integer epochs;

  @Option(names = "--batch-size", description = "Examples per step (default: cai.sl.train.batch-size).")
  Integer batchSize;

  @Option(names = "--lr", description = "Peak learning rate (default: cai.sl.train.learning-rate).")
  Double lr;

  @Override
  public Integer call() {
    Config t = CaiConfig.load().getConfig("cai.sl.train");
    Path storeDir = run.resolve("store");
    if (!Files.isDirectory(storeDir)) {
      throw new IllegalArgumentException("No SL data in " + run + " (missing " + storeDir + "): run cai sl generate first");
    }
    var err = spec.commandLine().getErr();
    var out = spec.commandLine().getOut();
    TrainingRun.Settings s = settings(t, epochs, batchSize, lr);
    try (LoadedModel base = ModelFiles.load(model.modelPath())) {
      List<SftData.Example> examples = new ArrayList<>();
      long[] skipped = {0, 0};
      try (RecordStore store = RecordStore.open(storeDir)) {
        store.forEach(RecordKind.SL_EXAMPLES, 0, stored -> {
          SlExample e = stored.record();
          if (e.getStatus() != SlExample.Status.OK) {
            skipped[0]++;
            return;
          }
          Optional<SftData.Example> ex = SftData.encode(
              CritiquePrompts.initial(e.getPrompt().getContext(), e.getPrompt().getText()).messages(),
              e.getFinalRevision(), base.chatTemplate(), base.tokenizer(), t.getInt("max-length"));
          ex.ifPresentOrElse(examples::add, () -> skipped[1]++);
        });
      }
      err.printf("SFT: %d examples (%d failed records skipped, %d longer than %d tokens skipped), %d epochs, batch %d, lr %.1e%n",
          examples.size(), skipped[0], skipped[1], t.getInt("max-length"), s.epochs(), s.batchSize(), s.peakLr());
      long totalSteps = ((long) s.epochs() * examples.size() + s.batchSize() - 1) / s.batchSize();
      ProgressLine bar = new ProgressLine(err, "steps", totalSteps);
      long t0 = System.nanoTime();
      long[] tokens = {0};
      var meter = AppMeters.trainSteps("sl-train");
      TrainingRun.Result r;
      try (Monitoring.Phase phase = Monitoring.phase(CaiConfig.load(), err, "sl-train", run)) {
        r = TrainingRun.run(base, model.deviceSetting(), examples, run.resolve("sl-train"), s,
            SftData.objective(base.weights().config()), step -> {
              tokens[0] += (long) step.weight();
              meter.accept(step);
              bar.update(step.step(), tokens[0], false);
            });
      }
      bar.update(r.steps(), tokens[0], true);
      double secs = (System.nanoTime() - t0) / 1e9;
      out.printf("steps    %d (resumed at %d)%n", r.steps(), r.resumedAt());
      out.printf("loss     %.4f -> %.4f (first -> last step of this run)%n", r.firstLoss(), r.lastLoss());
      out.printf("elapsed  %s%n", ProgressLine.format(Duration.ofSeconds((long) secs)));
      out.printf("model    %s%n", r.model());
      out.printf("metrics  %s%n", run.resolve("sl-train/train-metrics.jsonl"));
    }
    return 0;
  }

  /** Training settings: {@code cai.sl.train} unless an option is given. */
  static TrainingRun.Settings settings(Config t, Integer epochs, Integer batchSize, Double lr) {
    return new TrainingRun.Settings(epochs != null ? epochs : t.getInt("epochs"),
        batchSize != null ? batchSize : t.getInt("batch-size"), t.getInt("micro-batch-size"),
        lr != null ? lr : t.getDouble("learning-rate"), t.getInt("warmup-steps"), t.getDouble("weight-decay"),
        t.getDouble("max-grad-norm"), t.getInt("checkpoint-every"), t.getLong("seed"));
  }

  /** Reads every {@code cai.sl.train} setting this command uses as it would; throws on a bad one. */
  static void check(Config conf) {
    Config t = conf.getConfig("cai.sl.train");
    settings(t, null, null, null);
    if (t.getInt("max-length") < 1) {
      throw new IllegalArgumentException("max-length must be >= 1; got " + t.getInt("max-length"));
    }
  }
}
