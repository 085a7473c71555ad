package dev.cai.app;

import dev.cai.runtime.eval.McEval;
import dev.cai.runtime.generate.ContinuationScorer;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.weights.LoadedModel;
import dev.cai.runtime.model.LlamaModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code cai label eval --mc FILE}: how good a feedback model is on multiple-choice questions. */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = "Score multiple-choice items {\"prompt\", \"corrects\": [\" (A)\"], \"incorrects\": [\" (B)\"]} with the "
        + "feedback model (raw prompt text, no chat template): accuracy, mean probability on the correct answer, "
        + "a calibration table, and the same with position-bias correction where (A)/(B) can be swapped.")
final class McEvalCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;
  @Mixin ModelOptions model;

  @Option(names = "--mc", required = true, paramLabel = "FILE", description = "JSONL (or JSON array) of items.")
  Path file;

  @Option(names = "--bins", defaultValue = "10", description = "Calibration bins (default: ${DEFAULT-VALUE}).")
  int bins;

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
    for (McEval.Bin b : r.calibration()) {
      if (b.count() > 0) {
        out.printf("  [%.1f, %.1f)  n=%4d  predicted %.3f  correct %.3f%n", b.lo(), b.hi(), b.count(), b.meanPredicted(),
            b.fractionCorrect());
      }
    }
    out.printf("elapsed          %.1f s (%.2f questions/s, scoring and swapped re-scoring)%n", secs, r.items() / secs);
    return 0;
  }
}
