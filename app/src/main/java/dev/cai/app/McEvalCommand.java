package dev.cai.app;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.cai.runtime.eval.McEval;
import dev.cai.runtime.generate.ContinuationScorer;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.weights.LoadedModel;
import dev.cai.runtime.model.LlamaModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code cai label eval --mc FILE}: how good a feedback model is on multiple-choice questions. */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = {"Score multiple-choice items {\"prompt\", \"corrects\": [\" (A)\"], \"incorrects\": [\" (B)\"]} with the "
        + "feedback model (raw prompt text, no chat template): accuracy, mean probability on the correct answer, "
        + "a calibration table, and the same with position-bias correction where (A)/(B) can be swapped.",
        "With --out FILE the numbers and both calibration tables are also written as JSON: {\"mc_file\", \"items\", "
            + "\"accuracy\", \"mean_p_correct\", \"swappable\", \"debiased_accuracy\", \"debiased_mean_p_correct\", \"bins\", "
            + "\"calibration\": {\"raw\": [BIN...], \"debiased\": [BIN...]}}, BIN = {\"lo\", \"hi\", \"count\", "
            + "\"mean_predicted\", \"accuracy\"} (null where count is 0 or no item is swappable). \"raw\" bins every option's "
            + "probability; \"debiased\" bins, per swappable item, the (A)/(B)-swapped-and-averaged probability of the "
            + "correct option and its complement. --out RUN_DIR/label-eval.json makes cai report plot "
            + "RUN_DIR/report/label-calibration.png (a reliability diagram)."})
final class McEvalCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;
  @Mixin ModelOptions model;

  @Option(names = "--mc", required = true, paramLabel = "FILE", description = "JSONL (or JSON array) of items.")
  Path file;

  @Option(names = "--bins", defaultValue = "10", description = "Calibration bins (default: ${DEFAULT-VALUE}).")
  int bins;

  @Option(names = "--out", paramLabel = "FILE", description = "Also write the results as JSON to FILE (see above; "
      + "RUN_DIR/label-eval.json for cai report).")
  Path jsonOut;

  @Override
  public Integer call() {
    List<McEval.Item> items = McEval.read(file);
    PrintWriter out = spec.commandLine().getOut();
    long t0 = System.nanoTime();
    McEval.Report r;
    try (LoadedModel loaded = ModelFiles.load(model.modelPath());
         LlamaModel lm = LlamaModel.create(loaded.weights(), model.deviceSetting())) {
      ContinuationScorer scorer = new ContinuationScorer(lm);
      long passes = items.size() + items.stream().filter(i -> McEval.swapped(i).isPresent()).count();
      ProgressLine bar = new ProgressLine(spec.commandLine().getErr(), "scoring passes", passes);
      int[] done = {0};
      r = McEval.evaluate(items, (prompt, options) -> {
        int[] ctx = loaded.tokenizer().encode(prompt);
        List<int[]> contexts = new ArrayList<>();
        List<int[]> continuations = new ArrayList<>();
        for (String o : options) {
          contexts.add(ctx);
          continuations.add(loaded.tokenizer().encode(o));
        }
        double[] lp = scorer.totalLogProbs(contexts, continuations);
        bar.update(++done[0], 0, false);
        return lp;
      }, bins);
      bar.update(done[0], 0, true);
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    out.printf("items            %d (%s)%n", r.items(), file);
    out.printf("accuracy         %.3f%n", r.accuracy());
    out.printf("mean p(correct)  %.3f%n", r.meanPCorrect());
    if (r.swappable() > 0) {
      out.printf("debiased         %d swappable items: accuracy %.3f, mean p(correct) %.3f%n", r.swappable(),
          r.debiasedAccuracy(), r.debiasedMeanPCorrect());
    }
    out.println("calibration      predicted p of an option  ->  fraction of such options that are correct");
    printBins(out, r.calibration());
    if (r.swappable() > 0) {
      out.println("calibration      debiased: (A)/(B) swapped and averaged, swappable items only");
      printBins(out, r.debiasedCalibration());
    }
    out.printf("elapsed          %.1f s (%.2f questions/s, scoring and swapped re-scoring)%n", secs, r.items() / secs);
    if (jsonOut != null) {
      out.printf("json             %s%n", writeJson(toJson(r, file), jsonOut));
    }
    return 0;
  }

  private static void printBins(PrintWriter out, List<McEval.Bin> bins) {
    for (McEval.Bin b : bins) {
      if (b.count() > 0) {
        out.printf("  [%.1f, %.1f)  n=%4d  predicted %.3f  correct %.3f%n", b.lo(), b.hi(), b.count(), b.meanPredicted(),
            b.fractionCorrect());
      }
    }
  }

  /**
   * The JSON form of {@code r} (the format in this command's description; read back by {@link MetricsSeries#labelEval}):
   * a number that is NaN (an empty bin, no swappable item) is written as null.
   */
  static JsonObject toJson(McEval.Report r, Path mcFile) {
    JsonObject o = new JsonObject();
    o.addProperty("mc_file", mcFile.toString());
    o.addProperty("items", r.items());
    o.add("accuracy", num(r.accuracy()));
    o.add("mean_p_correct", num(r.meanPCorrect()));
    o.addProperty("swappable", r.swappable());
    o.add("debiased_accuracy", num(r.debiasedAccuracy()));
    o.add("debiased_mean_p_correct", num(r.debiasedMeanPCorrect()));
    o.addProperty("bins", r.calibration().size());
    JsonObject calibration = new JsonObject();
    calibration.add("raw", bins(r.calibration()));
    calibration.add("debiased", bins(r.debiasedCalibration()));
    o.add("calibration", calibration);
    return o;
  }

  private static JsonArray bins(List<McEval.Bin> table) {
    JsonArray a = new JsonArray();
    for (McEval.Bin b : table) {
      JsonObject j = new JsonObject();
      j.addProperty("lo", b.lo());
      j.addProperty("hi", b.hi());
      j.addProperty("count", b.count());
      j.add("mean_predicted", num(b.meanPredicted()));
      j.add("accuracy", num(b.fractionCorrect()));
      a.add(j);
    }
    return a;
  }

  /** A JSON number, or null for NaN and infinities (which JSON cannot hold). */
  private static JsonElement num(double v) {
    return Double.isFinite(v) ? new JsonPrimitive(v) : JsonNull.INSTANCE;
  }

  /** Writes {@code json} (pretty-printed, nulls kept) to {@code file} through a temporary sibling; returns the file. */
  static Path writeJson(JsonObject json, Path file) {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try {
      if (file.toAbsolutePath().getParent() != null) {
        Files.createDirectories(file.toAbsolutePath().getParent());
      }
      Files.writeString(tmp, new GsonBuilder().serializeNulls().setPrettyPrinting().create().toJson(json) + "\n",
          StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write " + file + ": " + e.getMessage(), e);
    }
    return file;
  }
}
