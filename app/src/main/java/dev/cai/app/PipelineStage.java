package dev.cai.app;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

/**
 * One stage of {@code cai run} (sl-generate, sl-train, label, pm-train, rl): checks its section of the pipeline
 * config, runs (resuming an interrupted run through its own resume machinery) and names the outputs that show it
 * finished. {@link PipelineRunner} skips a stage whose completion marker matches its current fingerprint and whose
 * outputs exist. Register an implementation in {@link PipelineStages#available()}.
 */
interface PipelineStage {
  /** Its name in {@code pipeline.stages} (one of {@link PipelineStages#ORDER}). */
  String name();

  /** Stages whose outputs it reads: when one of them finishes anew, this one runs again. */
  List<String> inputs();

  /** Checks its section {@code pipeline.NAME} before anything runs; throws {@link PipelineConfig.PipelineConfigException}. */
  void validate(PipelineConfig config);

  /** One line for the console: what it runs (e.g. the cai command line). */
  String describe(PipelineConfig config);

  /** Everything its result depends on besides its inputs (command line, effective settings). */
  default String fingerprintInput(PipelineConfig config) {
    return describe(config);
  }

  /** Files that exist once it has finished. */
  List<Path> outputs(PipelineConfig config);

  /** Runs it to the end (resuming where an interrupted run stopped); 0 = finished, else its exit code. */
  int run(PipelineConfig config, PrintWriter out, PrintWriter err) throws Exception;
}
