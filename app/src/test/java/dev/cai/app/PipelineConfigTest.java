package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.cai.app.PipelineConfig.PipelineConfigException;
import dev.cai.streams.remote.RemoteModel;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PipelineConfigTest {
  @TempDir Path dir;

  /** Writes {@code pipeline { run-dir = RUN; BODY }} and loads it, checking every selected stage as cai run does. */
  private PipelineConfig load(String body) throws Exception {
    Path f = Files.writeString(dir.resolve("exp.conf"), "pipeline {\n  run-dir = \"" + dir.resolve("run") + "\"\n" + body + "\n}\n");
    PipelineConfig c = PipelineConfig.load(f.toString(), ConfigFactory.empty(), PipelineStages.ORDER);
    PipelineRunner.standard().validate(c);
    return c;
  }

  private String error(String body) {
    return assertThrows(PipelineConfigException.class, () -> load(body)).getMessage();
  }

  private String file() {
    return dir.resolve("exp.conf").toString();
  }

  @Test
  void shouldNameTheFileAndKeyOfAnUnknownStageOrKey() {
    assertEquals(file() + ": pipeline.stages: unknown stage 'sl-gen'; known: sl-generate, sl-train, label, pm-train, rl",
        error("stages = [sl-generate, sl-gen]"));
    assertEquals(file() + ": pipeline.stages: stage 'label' is listed twice", error("stages = [label, label]"));
    assertEquals(file() + ": pipeline.stages: missing; list the stages to run, e.g. [sl-generate, sl-train, label, pm-train, rl]",
        error(""));
    assertTrue(error("stages = [sl-generate]\nmodle = x").startsWith(file() + ": pipeline.modle: unknown key; known: "));
    assertEquals(file() + ": pipeline.sl-generate.promtps: unknown key; sl-generate takes: constitution, critic-model, helpful, "
        + "limit, model, prompts, settings", error("stages = [sl-generate]\nsl-generate { promtps = x }"));
  }

  @Test
  void shouldNameTheKeyOfAnUnknownOrBadSetting() {
    assertTrue(error("stages = [sl-generate]\nsl-generate.settings.roundz = 2")
        .startsWith(file() + ": pipeline.sl-generate.settings.roundz: unknown setting; cai.sl has: ask-timeout, "));
    assertEquals(file() + ": pipeline.sl-generate.settings.rounds: bad value \"two\": cai.sl.rounds has type STRING rather than NUMBER",
        error("stages = [sl-generate]\nsl-generate.settings.rounds = two"));
    assertEquals(file() + ": pipeline.sl-generate.settings.train.epochs: cai.sl.train is set in pipeline.sl-train.settings",
        error("stages = [sl-generate]\nsl-generate.settings.train.epochs = 1"));
    assertTrue(error("stages = [sl-train]\nsl-train.settings.epochs = 0")
        .startsWith(file() + ": pipeline.sl-train.settings: "), "a value the training settings refuse");
    assertEquals(file() + ": pipeline.label.settings.ask-timeout: bad value \"soon\": Invalid value at "
        + "'cai.label.ask-timeout': No number in duration value 'soon'",
        error("stages = [label]\nlabel { policy-model = base, settings.ask-timeout = soon }"));
    assertTrue(error("stages = [sl-generate]\nbatching.max-batch-size = lots")
        .startsWith(file() + ": pipeline.batching.max-batch-size: bad value \"lots\""));
    assertEquals(file() + ": pipeline.sl-generate.limit: must be a whole number >= 0; got -3",
        error("stages = [sl-generate]\nsl-generate.limit = -3"));
    assertEquals(file() + ": pipeline.device: Unknown device setting 'tpu': expected auto, cpu or gpu",
        error("stages = [sl-generate]\ndevice = tpu"));
  }

  @Test
  void shouldNameTheKeyOfAMissingFileOrModel() {
    Path missing = dir.resolve("nope.jsonl");
    assertEquals(file() + ": pipeline.sl-generate.prompts: prompt file " + missing + " does not exist",
        error("stages = [sl-generate]\nsl-generate.prompts = \"" + missing + "\""));
    assertEquals(file() + ": pipeline.sl-generate.prompts: unknown built-in prompt set 'builtin:blue-team'; known: "
        + "builtin:red-team, builtin:helpful", error("stages = [sl-generate]\nsl-generate.prompts = \"builtin:blue-team\""));
    assertEquals(file() + ": pipeline.model: model " + dir.resolve("m.gguf") + " does not exist",
        error("stages = [sl-generate]\nmodel = \"" + dir.resolve("m.gguf") + "\""));
    assertEquals(file() + ": pipeline.label.policy-model: 'sl' is the SL-CAI model " + dir.resolve("run/sl-train/model")
        + ", which does not exist and sl-train is not among pipeline.stages; add sl-train or name a model",
        error("stages = [label]"));
    assertEquals(file() + ": pipeline.stages: pm-train reads what label writes (" + dir.resolve("run/label/store")
        + "), which does not exist; add label to pipeline.stages", error("stages = [sl-generate, sl-train, pm-train]"));
    assertEquals(file() + ": pipeline.pm-train.hh: file " + Path.of("hh.jsonl").toAbsolutePath() + " does not exist",
        error("stages = [sl-generate, sl-train, label, pm-train]\npm-train.hh = hh.jsonl"), "relative to the working directory");
  }

  @Test
  void shouldNameTheFileOfABrokenOrMissingConfig() throws Exception {
    Path broken = Files.writeString(dir.resolve("broken.conf"), "pipeline { stages = [\n");
    assertTrue(assertThrows(PipelineConfigException.class, () -> PipelineConfig.load(broken.toString(), ConfigFactory.empty(),
        PipelineStages.ORDER)).getMessage().startsWith(broken + ": not valid HOCON"));
    assertEquals(dir.resolve("none.conf") + ": pipeline config does not exist", assertThrows(PipelineConfigException.class,
        () -> PipelineConfig.load(dir.resolve("none.conf").toString(), ConfigFactory.empty(), PipelineStages.ORDER)).getMessage());
    assertTrue(assertThrows(PipelineConfigException.class, () -> PipelineConfig.load("builtin:nope", ConfigFactory.empty(),
        PipelineStages.ORDER)).getMessage().startsWith("builtin:nope: no such pipeline config (bundled: builtin:demo, builtin:experiment)"));
  }

  @Test
  void shouldAcceptTheBundledConfigsAndRunTheirStagesInPipelineOrder() {
    for (String name : List.of("builtin:demo", "builtin:experiment")) {
      PipelineConfig c = PipelineConfig.load(name, ConfigFactory.empty().withValue("pipeline.run-dir",
          ConfigValueFactory.fromAnyRef(dir.resolve(name.substring(8)).toString())), PipelineStages.ORDER);
      PipelineRunner.standard().validate(c);
      assertEquals(PipelineStages.ORDER, c.stages(), name);
    }
    PipelineConfig subset = PipelineConfig.load("builtin:demo", ConfigFactory.empty()
        .withValue("pipeline.stages", ConfigValueFactory.fromIterable(List.of("label", "sl-train", "sl-generate")))
        .withValue("pipeline.run-dir", ConfigValueFactory.fromAnyRef(dir.toString())), PipelineStages.ORDER);
    assertEquals(List.of("sl-generate", "sl-train", "label"), subset.stages(), "listed in any order, run in pipeline order");
  }

  @Test
  void shouldPutAStagesSettingsInEffectWhileItRuns() throws Exception {
    PipelineConfig c = load("stages = [sl-generate, sl-train]\nsl-generate.settings { rounds = 3, max-new-tokens = 17 }\n"
        + "sl-train.settings.epochs = 5\nbatching.max-batch-size = 7");
    Config during = CaiConfig.withOverrides(c.overrides("sl-generate"), CaiConfig::load);
    assertEquals(3, during.getInt("cai.sl.rounds"));
    assertEquals(17, during.getInt("cai.sl.max-new-tokens"));
    assertEquals(7, during.getInt("cai.batching.max-batch-size"));
    assertEquals(2, during.getInt("cai.sl.train.epochs"), "another stage's settings are not in effect");
    assertEquals(5, CaiConfig.withOverrides(c.overrides("sl-train"), CaiConfig::load).getInt("cai.sl.train.epochs"));
    assertEquals(4, CaiConfig.load().getInt("cai.sl.rounds"), "outside a stage: the defaults");
  }

  @Test
  void shouldCheckTheRlStageAndItsPpoSettings() throws Exception {
    PipelineConfig c = load("stages = [sl-generate, sl-train, label, pm-train, rl]\n"
        + "rl { updates = 3, settings { init-kl-coef = 0.02, batch-size = 4 } }");
    StringWriter err = new StringWriter();
    int code = RunCommand.execute(c, PipelineRunner.standard(), false, true, new PrintWriter(new StringWriter()),
        new PrintWriter(err, true));
    assertEquals(0, code, "--check: the config is valid: " + err);
    PipelineConfigException bad = assertThrows(PipelineConfigException.class,
        () -> load("stages = [sl-generate, sl-train, label, pm-train, rl]\nrl { settings { kl-coef = 0.05 } }"));
    assertTrue(bad.getMessage().contains("kl-coef"), bad.getMessage());
    PipelineConfigException alone = assertThrows(PipelineConfigException.class, () -> load("stages = [rl]"));
    assertTrue(alone.getMessage().contains("rl reads what pm-train writes"), alone.getMessage());
  }

  @Test
  void shouldPassRemoteModelsOfTheFrozenRolesToTheCommands() throws Exception {
    PipelineConfig c = load("stages = [sl-generate, label]\n"
        + "sl-generate.critic-model = \"openai:http://127.0.0.1:8000/v1#critic\"\n"
        + "label { policy-model = \"openai:http://127.0.0.1:8000/v1#policy\", "
        + "feedback-model = \"openai:https://gpu-7:8000/v1#org/judge?api-key-env=JUDGE_KEY\" }");
    String sl = PipelineStages.available().get("sl-generate").describe(c);
    assertTrue(sl.contains(" --critic-model openai:http://127.0.0.1:8000/v1#critic"), sl);
    String label = PipelineStages.available().get("label").describe(c);
    assertTrue(label.contains(" --model openai:http://127.0.0.1:8000/v1#policy "), label);
    assertTrue(label.contains(" --feedback-model openai:https://gpu-7:8000/v1#org/judge?api-key-env=JUDGE_KEY "), label);
    assertEquals(file() + ": pipeline.label.feedback-model: model spec 'openai:http://h/v1': no #MODEL after the base URL; "
        + "the syntax is " + RemoteModel.SYNTAX,
        error("stages = [label]\nlabel { policy-model = base, feedback-model = \"openai:http://h/v1\" }"));
  }

  @Test
  void shouldFailTheRunCommandWithTheConfigErrorAndExitCode1() throws Exception {
    Path f = Files.writeString(dir.resolve("bad.conf"), "pipeline { run-dir = r, stages = [sft] }");
    StringWriter err = new StringWriter();
    int code = Main.commandLine().setErr(new PrintWriter(err, true)).execute("run", "--config", f.toString());
    assertEquals(1, code);
    assertTrue(err.toString().contains(f + ": pipeline.stages: unknown stage 'sft'"), err.toString());
  }
}
