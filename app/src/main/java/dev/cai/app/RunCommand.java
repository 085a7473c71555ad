package dev.cai.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code cai run --config FILE}: the whole pipeline (sl-generate → sl-train → label → pm-train → rl) or the
 * stages a config selects, each skipped when finished and resumed when interrupted; see {@link PipelineConfig}.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = "Run a pipeline config: the selected stages of sl-generate, sl-train, label, pm-train, rl in order, each "
        + "skipped when already finished and resumed when interrupted; writes RUN_DIR/run-summary.json. Bundled configs: "
        + "builtin:demo, builtin:experiment (app/src/main/resources/pipelines/).")
final class RunCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--config", required = true, paramLabel = "FILE", description = "Pipeline config (HOCON), or builtin:NAME.")
  String config;

  @Option(names = "--stages", split = ",", paramLabel = "STAGE", description = "Run only these stages (overrides pipeline.stages).")
  List<String> stages;

  @Option(names = "--run-dir", paramLabel = "RUN_DIR", description = "Run directory (overrides pipeline.run-dir).")
  Path runDir;

  @Option(names = "--force", description = "Run the selected stages even when finished (each resumes, usually with nothing left to do).")
  boolean force;

  @Option(names = "--check", description = "Validate the config and print what would run or be skipped, without running.")
  boolean check;

  @Override
  public Integer call() {
    Config overrides = ConfigFactory.empty();
    if (stages != null) {
      overrides = overrides.withValue("pipeline.stages", ConfigValueFactory.fromIterable(stages));
    }
    if (runDir != null) {
      overrides = overrides.withValue("pipeline.run-dir", ConfigValueFactory.fromAnyRef(runDir.toAbsolutePath().toString()));
    }
    PipelineConfig c = PipelineConfig.load(config, overrides, PipelineStages.ORDER);
    return execute(c, PipelineRunner.standard(), force, check, spec.commandLine().getOut(), spec.commandLine().getErr());
  }

  /** Validates {@code c}, fetches the embedded model when the pipeline uses it, then runs it (or only plans it). */
  static int execute(PipelineConfig c, PipelineRunner runner, boolean force, boolean checkOnly, PrintWriter out, PrintWriter err) {
    runner.validate(c);
    err.println("pipeline " + c.origin() + ": stages " + String.join(", ", c.stages()) + "; run " + c.runDir());
    for (String name : c.stages()) {
      if (!PipelineStages.available().containsKey(name)) {
        err.println("note: stage " + name + " is not available in this build (" + PipelineStages.UNAVAILABLE.getOrDefault(name,
            "no implementation") + "); the run stops there");
      }
    }
    if (checkOnly) {
      for (String name : c.stages()) {
        PipelineStage s = PipelineStages.available().get(name);
        if (s != null) {
          err.println("  " + name + ": " + runner.doneReason(c, s).map(r -> "skip (" + r + ")").orElse("run: " + s.describe(c)));
        }
      }
      err.println("config OK");
      return 0;
    }
    if (usesEmbedded(c)) {
      err.println("\n== cai model fetch");
      int code = Main.commandLine().setOut(out).setErr(err).execute("model", "fetch");
      if (code != 0) {
        err.println("run stopped: cai model fetch failed (exit " + code + ")");
        return code;
      }
    }
    Monitoring.ensureStarted(CaiConfig.load(), err); // the dashboard's address first, before the stages' output
    return runner.run(c, force, out, err).exitCode();
  }

  /** Whether a selected stage's command line names the embedded model. */
  private static boolean usesEmbedded(PipelineConfig c) {
    String embedded = PipelineConfig.embeddedModel().toString();
    return c.stages().stream().map(PipelineStages.available()::get).filter(java.util.Objects::nonNull)
        .anyMatch(s -> s.describe(c).contains(embedded));
  }
}
