package dev.cai.app;

import com.google.gson.JsonObject;
import com.typesafe.config.Config;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.runtime.eval.McEval;
import dev.cai.runtime.eval.PairEval;
import dev.cai.runtime.eval.PairFile;
import dev.cai.runtime.eval.RewardModel;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.train.PreferenceData;
import dev.cai.runtime.train.TrainingRun;
import dev.cai.runtime.weights.LoadedModel;
import dev.cai.streams.LabelExport;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code cai pm}: the preference model of RL-CAI. */
@Command(name = "pm", mixinStandardHelpOptions = true, description = "Preference model: train on soft AI labels (and human pairs), evaluate.",
    subcommands = {PmCommand.Train.class, PmCommand.Eval.class})
final class PmCommand {

  /** {@code cai pm train}. */
  @Command(name = "train", mixinStandardHelpOptions = true,
      description = "Train a preference model (LM trunk + reward head on the last token) with the soft Bradley-Terry loss on "
          + "the comparisons of labeling runs, optionally mixed with hh-rlhf human pairs (p = 1); reports held-out "
          + "accuracy and stores the reward normalisation (policy samples → mean 0, std 1). Resumes from its checkpoints.")
  static final class Train implements Callable<Integer> {
    @Spec picocli.CommandLine.Model.CommandSpec spec;
    @Mixin ModelOptions model;

    @Option(names = "--labels", paramLabel = "LABEL_RUN", description = "Run directory of cai label (repeatable).")
    List<Path> labels = new ArrayList<>();

    @Option(names = "--hh", paramLabel = "FILE", description = "hh-rlhf {\"chosen\", \"rejected\"} JSONL(.gz) to mix in.")
    Path hh;

    @Option(names = "--hh-limit", defaultValue = "0", description = "Use only the first N human pairs (0 = all).")
    int hhLimit;

    @Option(names = "--out", required = true, paramLabel = "PM_DIR", description = "Where checkpoints, metrics and the PM (PM_DIR/model) go.")
    Path out;

    @Option(names = "--epochs", description = "Passes (default: cai.pm.epochs).")
    Integer epochs;

    @Option(names = "--lr", description = "Peak learning rate (default: cai.pm.learning-rate).")
    Double lr;

    @Override
    public Integer call() throws Exception {
      Config pm = CaiConfig.load().getConfig("cai.pm");
      PrintWriter err = spec.commandLine().getErr();
      PrintWriter stdout = spec.commandLine().getOut();
      List<PreferenceData.Example> all = new ArrayList<>();
      for (Path run : labels) {
        Path storeDir = run.resolve("store");
        if (!Files.isDirectory(storeDir)) {
          throw new IllegalArgumentException("No labels in " + run + " (missing " + storeDir + "): run cai label first");
        }
        try (RecordStore store = RecordStore.open(storeDir)) {
          store.forEach(RecordKind.COMPARISONS, 0, s -> all.add(LabelExport.example(s.record())));
        }
      }
      int aiPairs = all.size(); // AI-labelled pairs come first: their responses are policy samples
      if (hh != null) {
        for (PairFile.LabeledPair p : PairFile.read(hh, hhLimit)) {
          all.add(new PreferenceData.Example(p.conversation().messages(), p.chosen(), p.rejected(), 1.0));
        }
      }
      if (all.isEmpty()) {
        throw new IllegalArgumentException("No comparisons: give --labels LABEL_RUN and/or --hh FILE");
      }
      int every = pm.getInt("held-out-every");
      TrainingRun.Settings s = settings(pm, epochs, lr);
      List<PreferenceData.Pair> train = new ArrayList<>();
      List<PreferenceData.Example> heldOut = new ArrayList<>();
      int skipped = 0;
      try (LoadedModel base = ModelFiles.load(model.modelPath())) {
        for (int i = 0; i < all.size(); i++) {
          PreferenceData.Example l = all.get(i);
          if (every > 0 && i % every == every - 1) {
            heldOut.add(l);
            continue;
          }
          var pair = PreferenceData.encode(l.conversation(), l.a(), l.b(), l.pA(), base.chatTemplate(), base.tokenizer(),
              pm.getInt("max-length"));
          if (pair.isPresent()) {
            train.add(pair.get());
          } else {
            skipped++;
          }
        }
        err.printf("PM: %d training pairs (%d longer than %d tokens skipped), %d held out, from %s%n", train.size(), skipped,
            pm.getInt("max-length"), heldOut.size(), base.modelId());
        long totalSteps = ((long) s.epochs() * train.size() + s.batchSize() - 1) / s.batchSize();
        ProgressLine bar = new ProgressLine(err, "steps", totalSteps);
        long t0 = System.nanoTime();
        var meter = AppMeters.trainSteps("pm-train");
        TrainingRun.Result r;
        try (Monitoring.Phase phase = Monitoring.phase(CaiConfig.load(), err, "pm-train", out)) {
          r = TrainingRun.run(base, model.deviceSetting(), train, out, s,
              PreferenceData.objective(base.weights().config()), step -> {
                meter.accept(step);
                bar.update(step.step(), 0, false);
              });
        }
        bar.update(r.steps(), 0, true);
        stdout.printf("steps     %d (resumed at %d), loss %.4f -> %.4f, %s%n", r.steps(), r.resumedAt(), r.firstLoss(), r.lastLoss(),
            ProgressLine.format(Duration.ofSeconds((long) ((System.nanoTime() - t0) / 1e9))));
      }
      Path pmDir = out.resolve("model");
      try (RewardModel rm = RewardModel.load(pmDir, model.deviceSetting())) {
        if (!heldOut.isEmpty()) {
          double[] ra = rm.rawScores(heldOut.stream().map(PreferenceData.Example::conversation).toList(), heldOut.stream().map(PreferenceData.Example::a).toList());
          double[] rb = rm.rawScores(heldOut.stream().map(PreferenceData.Example::conversation).toList(), heldOut.stream().map(PreferenceData.Example::b).toList());
          int agree = 0;
          for (int i = 0; i < ra.length; i++) {
            agree += (ra[i] > rb[i]) == (heldOut.get(i).pA() >= 0.5) ? 1 : 0;
          }
          stdout.printf("held-out  %d pairs: the PM agrees with the label's side on %.3f%n", ra.length, (double) agree / ra.length);
          JsonObject eval = new JsonObject();
          eval.addProperty("held_out_pairs", ra.length);
          eval.addProperty("agreement", (double) agree / ra.length);
          PipelineRunner.writeAtomically(out.resolve("eval.json"), eval + "\n"); // read by cai report
        }
        List<PreferenceData.Example> reference = aiPairs == 0 ? all : all.subList(0, aiPairs);
        JsonObject norm = RewardModel.writeNormalization(pmDir, rm.rawScoresOfBoth(reference));
        stdout.printf("normalise %d %s samples: raw mean %.4f, std %.4f -> gain %.4f, bias %.4f (%s)%n", 2 * reference.size(),
            aiPairs == 0 ? "comparison" : "policy", norm.get("raw_mean").getAsDouble(),
            norm.get("raw_std").getAsDouble(), norm.get("gain").getAsDouble(), norm.get("bias").getAsDouble(),
            pmDir.resolve(RewardModel.NORMALIZATION));
        stdout.printf("model     %s%n", pmDir);
      }
      return 0;
    }

    /** Training settings: {@code cai.pm} unless an option is given. */
    static TrainingRun.Settings settings(Config pm, Integer epochs, Double lr) {
      return new TrainingRun.Settings(epochs != null ? epochs : pm.getInt("epochs"), pm.getInt("batch-size"),
          pm.getInt("micro-batch-size"), lr != null ? lr : pm.getDouble("learning-rate"), pm.getInt("warmup-steps"), 0.0,
          pm.getDouble("max-grad-norm"), pm.getInt("checkpoint-every"), pm.getLong("seed"));
    }

    /** Reads every {@code cai.pm} setting this command uses as it would; throws on a bad one. */
    static void check(Config conf) {
      Config pm = conf.getConfig("cai.pm");
      settings(pm, null, null);
      if (pm.getInt("max-length") < 1 || pm.getInt("held-out-every") < 0) {
        throw new IllegalArgumentException("max-length must be >= 1 and held-out-every >= 0; got " + pm.getInt("max-length")
            + ", " + pm.getInt("held-out-every"));
      }
    }
  }

  /** {@code cai pm eval}. */
  @Command(name = "eval", mixinStandardHelpOptions = true,
      description = "Accuracy (r_chosen > r_rejected) and calibration of a preference model on hh-rlhf style comparisons.")
  static final class Eval implements Callable<Integer> {
    @Spec picocli.CommandLine.Model.CommandSpec spec;
    @Mixin ModelOptions model;

    @Option(names = "--pm", required = true, paramLabel = "PM_DIR/model", description = "The preference model (cai pm train's PM_DIR/model).")
    Path pmDir;

    @Option(names = "--pairs", required = true, paramLabel = "FILE", description = "{\"chosen\", \"rejected\"} JSONL(.gz).")
    Path pairs;

    @Option(names = "--limit", defaultValue = "0", description = "First N pairs only (0 = all).")
    int limit;

    @Option(names = "--bins", defaultValue = "10", description = "Calibration bins (default: ${DEFAULT-VALUE}).")
    int bins;

    @Override
    public Integer call() {
      List<PairFile.LabeledPair> ps = PairFile.read(pairs, limit);
      PrintWriter out = spec.commandLine().getOut();
      long t0 = System.nanoTime();
      PairEval.Report r;
      try (RewardModel rm = RewardModel.load(pmDir, model.deviceSetting())) {
        List<List<ChatMessage>> convs = ps.stream().map(p -> p.conversation().messages()).toList();
        double[] rc = rm.rawScores(convs, ps.stream().map(PairFile.LabeledPair::chosen).toList());
        double[] rr = rm.rawScores(convs, ps.stream().map(PairFile.LabeledPair::rejected).toList());
        r = PairEval.evaluate(rc, rr, bins);
      }
      double secs = (System.nanoTime() - t0) / 1e9;
      out.printf("pairs            %d (%s)%n", r.pairs(), pairs);
      out.printf("accuracy         %.3f (r_chosen > r_rejected)%n", r.accuracy());
      out.printf("mean p(chosen)   %.3f%n", r.meanPChosen());
      out.println("calibration      predicted p  ->  fraction correct (both sides of each pair)");
      for (McEval.Bin b : r.calibration()) {
        if (b.count() > 0) {
          out.printf("  [%.1f, %.1f)  n=%4d  predicted %.3f  correct %.3f%n", b.lo(), b.hi(), b.count(), b.meanPredicted(),
              b.fractionCorrect());
        }
      }
      out.printf("elapsed          %.1f s (%.2f pairs/s)%n", secs, r.pairs() / secs);
      return 0;
    }
  }
}
