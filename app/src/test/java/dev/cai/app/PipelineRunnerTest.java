package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.typesafe.config.ConfigFactory;
import dev.cai.app.PipelineRunner.Status;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runner's skip/resume logic on fake stages (no models). */
class PipelineRunnerTest {
  @TempDir Path dir;

  private static final List<String> ORDER = List.of("gen", "train", "label", "rl");

  /**
   * A stage that "resumes": each run appends to its work log, fails while {@code failuresLeft > 0}, writes its output
   * only when it finishes; its {@code param} (from its config section) is part of its fingerprint.
   */
  private static final class FakeStage implements PipelineStage {
    final String name;
    final List<String> inputs;
    int runs;
    int failuresLeft;
    boolean writeOutput = true;

    FakeStage(String name, List<String> inputs) {
      this.name = name;
      this.inputs = inputs;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public List<String> inputs() {
      return inputs;
    }

    @Override
    public void validate(PipelineConfig c) {
      c.checkKeys(name, java.util.Set.of("param"));
    }

    @Override
    public String describe(PipelineConfig c) {
      return "fake " + name + " param=" + c.string(name, "param", "default");
    }

    @Override
    public List<Path> outputs(PipelineConfig c) {
      return List.of(c.runDir().resolve(name + ".out"));
    }

    @Override
    public int run(PipelineConfig c, PrintWriter out, PrintWriter err) throws Exception {
      runs++;
      Files.createDirectories(c.runDir());
      Files.writeString(c.runDir().resolve(name + ".log"), "run " + runs + "\n", java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
      if (failuresLeft > 0) {
        failuresLeft--;
        throw new IllegalStateException(name + " was interrupted");
      }
      if (writeOutput) {
        Files.writeString(outputs(c).get(0), "done");
      }
      return 0;
    }
  }

  private FakeStage gen;
  private FakeStage train;
  private FakeStage label;
  private PipelineRunner runner;
  private final StringWriter err = new StringWriter();

  @BeforeEach
  void stages() {
    gen = new FakeStage("gen", List.of());
    train = new FakeStage("train", List.of("gen"));
    label = new FakeStage("label", List.of("train"));
    Map<String, PipelineStage> available = new LinkedHashMap<>();
    for (FakeStage s : List.of(gen, train, label)) {
      available.put(s.name, s);
    }
    runner = new PipelineRunner(available, Map.of("rl", "PPO is not built yet"));
  }

  private PipelineConfig config(String body) {
    return PipelineConfig.of(ConfigFactory.parseString("pipeline { run-dir = \"" + dir.resolve("run") + "\"\n" + body + "\n}"),
        "test.conf", dir, ORDER);
  }

  private PipelineRunner.Summary run(String body) {
    return runner.run(config(body), false, new PrintWriter(new StringWriter()), new PrintWriter(err, true));
  }

  private static List<Status> statuses(PipelineRunner.Summary s) {
    return s.stages().stream().map(PipelineRunner.StageResult::status).toList();
  }

  @Test
  void shouldRunEveryStageOnceThenSkipThemAllOnReRun() throws Exception {
    PipelineRunner.Summary first = run("stages = [gen, train, label]");
    assertEquals(0, first.exitCode());
    assertEquals(List.of(Status.RAN, Status.RAN, Status.RAN), statuses(first));
    assertTrue(Files.isRegularFile(PipelineRunner.markerFile(dir.resolve("run"), "train")));

    PipelineRunner.Summary again = run("stages = [gen, train, label]");
    assertEquals(List.of(Status.SKIPPED, Status.SKIPPED, Status.SKIPPED), statuses(again));
    assertEquals(List.of(1, 1, 1), List.of(gen.runs, train.runs, label.runs));
    assertTrue(err.toString().contains("== train: skipped (finished "), err.toString());

    JsonObject summary = JsonParser.parseString(Files.readString(again.file())).getAsJsonObject();
    assertEquals(dir.resolve("run/run-summary.json"), again.file());
    assertEquals("test.conf", summary.get("config").getAsString());
    assertEquals(0, summary.get("exit_code").getAsInt());
    assertEquals("skipped", summary.getAsJsonArray("stages").get(1).getAsJsonObject().get("status").getAsString());
  }

  @Test
  void shouldResumeAnInterruptedStageAndGoOnWithoutRedoingFinishedOnes() throws Exception {
    train.failuresLeft = 1;
    PipelineRunner.Summary first = run("stages = [gen, train, label]");
    assertEquals(1, first.exitCode());
    assertEquals(List.of(Status.RAN, Status.FAILED, Status.NOT_RUN), statuses(first));
    assertEquals("train was interrupted", first.stages().get(1).detail());
    assertFalse(Files.exists(PipelineRunner.markerFile(dir.resolve("run"), "train")), "no marker for an unfinished stage");
    assertTrue(err.toString().contains("-- train failed after"), err.toString());

    PipelineRunner.Summary second = run("stages = [gen, train, label]");
    assertEquals(0, second.exitCode());
    assertEquals(List.of(Status.SKIPPED, Status.RAN, Status.RAN), statuses(second));
    assertEquals(List.of(1, 2, 1), List.of(gen.runs, train.runs, label.runs));
    assertEquals("run 1\nrun 2\n", Files.readString(dir.resolve("run/train.log")), "the stage ran again on its own state");
  }

  @Test
  void shouldRunOnlyTheSelectedStages() throws Exception {
    run("stages = [gen]");
    PipelineRunner.Summary s = run("stages = [train]");
    assertEquals(List.of("train"), s.stages().stream().map(PipelineRunner.StageResult::name).toList());
    assertEquals(List.of(1, 1, 0), List.of(gen.runs, train.runs, label.runs));
    assertEquals(List.of(Status.SKIPPED, Status.RAN), statuses(run("stages = [label, train]")),
        "train is done; label runs, and stages run in pipeline order");
  }

  @Test
  void shouldReRunAChangedStageAndTheStagesThatReadItsOutput() throws Exception {
    run("stages = [gen, train, label]");
    PipelineRunner.Summary s = run("stages = [gen, train, label]\ntrain { param = two }");
    assertEquals(List.of(Status.SKIPPED, Status.RAN, Status.RAN), statuses(s), "train's settings changed; label reads train");
    assertTrue(err.toString().contains("== train (inputs or settings changed since it finished: running again): fake train param=two"),
        err.toString());
    assertEquals(List.of(Status.SKIPPED, Status.SKIPPED, Status.SKIPPED),
        statuses(run("stages = [gen, train, label]\ntrain { param = two }")));
  }

  @Test
  void shouldReRunAStageWhoseOutputsAreGoneAndFailOneThatFinishesWithoutThem() throws Exception {
    run("stages = [gen]");
    Files.delete(dir.resolve("run/gen.out"));
    assertEquals(List.of(Status.RAN), statuses(run("stages = [gen]")));
    assertEquals(2, gen.runs);

    train.writeOutput = false;
    PipelineRunner.Summary s = run("stages = [gen, train]");
    assertEquals(List.of(Status.SKIPPED, Status.FAILED), statuses(s));
    assertTrue(s.stages().get(1).detail().startsWith("finished without writing [" + dir.resolve("run/train.out")),
        s.stages().get(1).detail());
  }

  @Test
  void shouldReportAStageThisBuildLacksAsUnavailableAfterRunningTheOthers() throws Exception {
    PipelineRunner.Summary s = run("stages = [gen, rl]\nrl { settings { anything = 1 } }");
    assertEquals(1, s.exitCode());
    assertEquals(List.of(Status.RAN, Status.UNAVAILABLE), statuses(s));
    assertEquals("not available in this build: PPO is not built yet", s.stages().get(1).detail());
    assertTrue(err.toString().contains("== rl: not available in this build: PPO is not built yet"), err.toString());
  }

  @Test
  void shouldRunADoneStageAgainWhenForced() throws Exception {
    run("stages = [gen]");
    PipelineRunner.Summary s = runner.run(config("stages = [gen]"), true, new PrintWriter(new StringWriter()),
        new PrintWriter(err, true));
    assertEquals(List.of(Status.RAN), statuses(s));
    assertEquals(2, gen.runs);
  }
}
