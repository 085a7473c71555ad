package dev.cai.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code cai demo}: {@code cai run --config builtin:demo} — the pipeline on the embedded model and the prompts cai
 * ships, small enough for a laptop: SL-CAI data → SFT → AI-feedback labels with the SL-CAI model as the policy →
 * preference model. Each stage is one of the regular commands; a finished stage is skipped and an interrupted one
 * resumes when the demo is run again.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run the pipeline on the embedded model and built-in prompts (cai run --config builtin:demo): model fetch, "
        + "sl generate, sl train, label, pm train (each resumable; RUN_DIR defaults to runs/demo).")
final class DemoCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--out", paramLabel = "RUN_DIR", description = "Run directory (default: runs/demo in the cai home).")
  Path out;

  @Option(names = "--prompts", description = "Red-team prompts (and as many helpful ones) (default: 8, from the demo config).")
  Integer prompts;

  @Option(names = "--rounds", description = "Critique/revision rounds (default: 2, from the demo config).")
  Integer rounds;

  @Override
  public Integer call() {
    Config overrides = ConfigFactory.empty();
    if (out != null) {
      overrides = overrides.withValue("pipeline.run-dir", ConfigValueFactory.fromAnyRef(out.toAbsolutePath().toString()));
    }
    if (prompts != null) {
      overrides = overrides.withValue("pipeline.sl-generate.limit", ConfigValueFactory.fromAnyRef(prompts))
          .withValue("pipeline.label.limit", ConfigValueFactory.fromAnyRef(prompts));
    }
    if (rounds != null) {
      overrides = overrides.withValue("pipeline.sl-generate.settings.rounds", ConfigValueFactory.fromAnyRef(rounds));
    }
    PipelineConfig c = PipelineConfig.load("builtin:demo", overrides, PipelineStages.ORDER);
    var err = spec.commandLine().getErr();
    int code = RunCommand.execute(c, PipelineRunner.standard(), false, false, spec.commandLine().getOut(), err);
    if (code != 0) {
      err.println("demo stopped (exit " + code + "); run the demo again to resume");
      return code;
    }
    Path run = c.runDir();
    err.println("\nDemo done. Look at: " + run.resolve("sl-sft.jsonl") + ", " + run.resolve("sl-train/train-metrics.jsonl")
        + ", " + run.resolve("label/comparisons.jsonl") + ", " + run.resolve("pm/model") + ", "
        + run.resolve("rl/rl-metrics.jsonl") + " (PM score and KL per PPO update), " + run.resolve("rl/model"));
    return Files.isRegularFile(run.resolve("pm/model/reward_normalization.json"))
        && Files.isRegularFile(run.resolve("rl/model/config.json")) ? 0 : 1;
  }
}
