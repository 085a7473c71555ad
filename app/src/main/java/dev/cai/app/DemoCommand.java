package dev.cai.app;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code cai demo}: the pipeline so far on the embedded model and the prompts cai ships, small enough for a
 * laptop: SL-CAI data → SFT → AI-feedback labels with the SL-CAI model as the policy → preference model. Each stage is one of the
 * regular commands and resumes where it stopped when the demo is run again.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run the pipeline on the embedded model and built-in prompts: model fetch, sl generate, sl train, "
        + "label, pm train (each resumable; RUN_DIR defaults to runs/demo).")
final class DemoCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--out", paramLabel = "RUN_DIR", description = "Run directory (default: runs/demo in the cai home).")
  Path out;

  @Option(names = "--prompts", defaultValue = "8", description = "Red-team prompts (and as many helpful ones) (default: ${DEFAULT-VALUE}).")
  int prompts;

  @Option(names = "--rounds", defaultValue = "2", description = "Critique/revision rounds (default: ${DEFAULT-VALUE}).")
  int rounds;

  @Override
  public Integer call() {
    Path run = out != null ? out : AppPaths.home().resolve("runs/demo");
    String limit = Integer.toString(prompts);
    List<List<String>> stages = new ArrayList<>();
    stages.add(List.of("model", "fetch"));
    stages.add(List.of("sl", "generate", "--prompts", "builtin:red-team", "--out", run.toString(), "--limit", limit,
        "--rounds", Integer.toString(rounds), "--max-tokens", "96"));
    stages.add(List.of("sl", "train", "--run", run.toString(), "--epochs", "2", "--batch-size", "4"));
    stages.add(List.of("label", "--prompts", "builtin:red-team", "--out", run.resolve("label").toString(), "--limit", limit,
        "--model", run.resolve("sl-train/model").toString(),
        "--feedback-model", AppPaths.modelsDir().resolve("SmolLM2-135M-Instruct.Q4_1.gguf").toString()));
    stages.add(List.of("pm", "train", "--labels", run.resolve("label").toString(), "--out", run.resolve("pm").toString(),
        "--model", run.resolve("sl-train/model").toString()));
    var err = spec.commandLine().getErr();
    for (List<String> stage : stages) {
      err.println("\n== cai " + String.join(" ", stage));
      int code = Main.commandLine().setOut(spec.commandLine().getOut()).setErr(err).execute(stage.toArray(String[]::new));
      if (code != 0) {
        err.println("demo stopped: stage 'cai " + String.join(" ", stage) + "' failed (exit " + code + "); run the demo again to resume");
        return code;
      }
    }
    err.println("\nDemo done. Look at: " + run.resolve("sl-sft.jsonl") + ", " + run.resolve("sl-train/train-metrics.jsonl")
        + ", " + run.resolve("label/comparisons.jsonl") + ", " + run.resolve("pm/model"));
    return Files.isRegularFile(run.resolve("pm/model/reward_normalization.json")) ? 0 : 1;
  }
}
