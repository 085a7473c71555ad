package dev.cai.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;

/** The stages of {@code cai run}, in pipeline order, and the ones this build can run. */
final class PipelineStages {
  /** Every stage name, in the order stages run. */
  static final List<String> ORDER = List.of("sl-generate", "sl-train", "label", "pm-train", "rl");

  /** The configuration namespace each stage's {@code settings} override. */
  static final Map<String, String> NAMESPACES = Map.of("sl-generate", "cai.sl", "sl-train", "cai.sl.train",
      "label", "cai.label", "pm-train", "cai.pm", "rl", "cai.rl");

  /** Why a known stage may be missing from {@link #available()}. */
  static final Map<String, String> UNAVAILABLE = Map.of();

  private PipelineStages() {}

  /** The stages this build can run, by name. */
  static Map<String, PipelineStage> available() {
    Map<String, PipelineStage> m = new LinkedHashMap<>();
    for (PipelineStage s : List.of(slGenerate(), slTrain(), label(), pmTrain(), rl())) {
      m.put(s.name(), s);
    }
    return m;
  }

  private static PipelineStage slGenerate() {
    String n = "sl-generate";
    return command(n, List.of(), Set.of("prompts", "helpful", "limit", "model", "critic-model", "constitution"), c -> {
      List<String> a = new ArrayList<>(List.of("sl", "generate",
          "--prompts", c.prompts(n, "prompts", "builtin:red-team", false),
          "--helpful", c.prompts(n, "helpful", "builtin:helpful", true),
          "--out", c.runDir().toString(),
          "--limit", Long.toString(c.count(n, "limit", 0)),
          "--model", c.modelSpec(n, "model", PipelineConfig.BASE),
          "--device", c.device()));
      if (c.hasSection(n) && c.string(n, "critic-model", "").length() > 0) {
        a.addAll(List.of("--critic-model", c.modelSpec(n, "critic-model", null)));
      }
      c.file(n, "constitution").ifPresent(p -> a.addAll(List.of("--constitution", p.toString())));
      return a;
    }, c -> List.of(c.runDir().resolve("sl-sft.jsonl"), c.runDir().resolve("sl-examples.jsonl")),
        SlCommand.Generate::check, Map.of("train", "sl-train"));
  }

  private static PipelineStage slTrain() {
    String n = "sl-train";
    return command(n, List.of("sl-generate"), Set.of("model"), c -> {
      requireInput(c, n, "sl-generate", c.runDir().resolve("store"));
      return List.of("sl", "train", "--run", c.runDir().toString(),
          "--model", c.model(n, "model", PipelineConfig.BASE).toString(), "--device", c.device());
    }, c -> List.of(c.slModel().resolve("config.json")), SlTrainCommand::check, Map.of());
  }

  private static PipelineStage label() {
    String n = "label";
    return command(n, List.of("sl-train"), Set.of("prompts", "limit", "policy-model", "feedback-model", "constitution"), c -> {
      List<String> a = new ArrayList<>(List.of("label",
          "--prompts", c.prompts(n, "prompts", "builtin:red-team", false),
          "--out", c.runDir().resolve("label").toString(),
          "--limit", Long.toString(c.count(n, "limit", 0)),
          "--model", c.modelSpec(n, "policy-model", PipelineConfig.SL),
          "--feedback-model", c.modelSpec(n, "feedback-model", PipelineConfig.BASE),
          "--device", c.device()));
      c.file(n, "constitution").ifPresent(p -> a.addAll(List.of("--constitution", p.toString())));
      return a;
    }, c -> List.of(c.runDir().resolve("label/comparisons.jsonl")), LabelCommand::check, Map.of());
  }

  private static PipelineStage pmTrain() {
    String n = "pm-train";
    return command(n, List.of("sl-train", "label"), Set.of("model", "hh", "hh-limit"), c -> {
      requireInput(c, n, "label", c.runDir().resolve("label/store"));
      List<String> a = new ArrayList<>(List.of("pm", "train",
          "--labels", c.runDir().resolve("label").toString(),
          "--out", c.runDir().resolve("pm").toString(),
          "--model", c.model(n, "model", PipelineConfig.SL).toString(),
          "--device", c.device()));
      c.file(n, "hh").ifPresent(p -> a.addAll(List.of("--hh", p.toString(), "--hh-limit",
          Long.toString(c.count(n, "hh-limit", 0)))));
      return a;
    }, c -> List.of(c.runDir().resolve("pm/model/reward_normalization.json")), PmCommand.Train::check, Map.of());
  }

  private static PipelineStage rl() {
    String n = "rl";
    return command(n, List.of("sl-train", "pm-train"),
        Set.of("prompts", "updates", "policy-model", "feedback-model", "constitution"), c -> {
      requireInput(c, n, "pm-train", c.runDir().resolve("pm/model"));
      List<String> a = new ArrayList<>(List.of("rl", "train",
          "--prompts", c.prompts(n, "prompts", "builtin:red-team", false),
          "--sl-checkpoint", c.model(n, "policy-model", PipelineConfig.SL).toString(),
          "--pm", c.runDir().resolve("pm/model").toString(),
          "--out", c.runDir().resolve("rl").toString(),
          "--updates", Long.toString(c.count(n, "updates", 20)),
          "--device", c.device()));
      if (c.overrides(n).hasPath("cai.rl.continual.every") && c.overrides(n).getInt("cai.rl.continual.every") > 0) {
        // continual RLAIF's labeler: the base model by default, as for the label stage
        a.addAll(List.of("--feedback-model", c.modelSpec(n, "feedback-model", PipelineConfig.BASE)));
        c.file(n, "constitution").ifPresent(p -> a.addAll(List.of("--constitution", p.toString())));
      }
      return a;
    }, c -> List.of(c.runDir().resolve("rl/model/config.json")), RlCommand.Train::check, Map.of());
  }

  /** A stage's input must exist already or be made by a stage of this run. */
  private static void requireInput(PipelineConfig c, String stage, String input, Path made) {
    if (!c.stages().contains(input) && !Files.exists(made)) {
      throw c.error("stages", stage + " reads what " + input + " writes (" + made + "), which does not exist; add "
          + input + " to pipeline.stages");
    }
  }

  /**
   * A stage that runs a cai command with its {@code settings} in effect.
   *
   * @param keys the keys of its config section besides {@code settings}
   * @param args its command line (building it checks the section's paths and models)
   * @param check reads the command's settings from an effective configuration, as the command would
   * @param excluded top-level keys of its namespace that belong to another stage, and that stage ({@code train} of
   *     {@code cai.sl}: sl-train)
   */
  static PipelineStage command(String name, List<String> inputs, Set<String> keys, Function<PipelineConfig, List<String>> args,
      Function<PipelineConfig, List<Path>> outputs, Consumer<Config> check, Map<String, String> excluded) {
    return new CommandStage(name, inputs, keys, args, outputs, check, excluded);
  }

  private record CommandStage(String name, List<String> inputs, Set<String> keys, Function<PipelineConfig, List<String>> args,
      Function<PipelineConfig, List<Path>> outputsOf, Consumer<Config> check, Map<String, String> excluded)
      implements PipelineStage {

    @Override
    public void validate(PipelineConfig c) {
      c.checkKeys(name, keys);
      c.checkSettings(name, NAMESPACES.get(name), excluded);
      c.checkSettingValues(name, check);
      args.apply(c);
    }

    @Override
    public String describe(PipelineConfig c) {
      return "cai " + String.join(" ", args.apply(c));
    }

    /** The command line and the effective settings of its namespace (and the model actors' batching). */
    @Override
    public String fingerprintInput(PipelineConfig c) {
      Config effective = CaiConfig.merged(c.overrides(name));
      Config ns = effective.getConfig(NAMESPACES.get(name));
      for (String x : excluded.keySet()) {
        ns = ns.withoutPath(x);
      }
      ConfigRenderOptions concise = ConfigRenderOptions.concise();
      return describe(c) + "\n" + ns.root().render(concise) + "\n" + effective.getConfig("cai.batching").root().render(concise);
    }

    @Override
    public List<Path> outputs(PipelineConfig c) {
      return outputsOf.apply(c);
    }

    @Override
    public int run(PipelineConfig c, PrintWriter out, PrintWriter err) throws Exception {
      String[] argv = args.apply(c).toArray(String[]::new);
      // every stage appends its throughput to the run's metrics file (pm-train's own output is RUN_DIR/pm)
      Config journal = com.typesafe.config.ConfigFactory.parseMap(java.util.Map.of("cai.monitor.journal-file",
          c.runDir().resolve("metrics.jsonl").toString()));
      return CaiConfig.withOverrides(c.overrides(name).withFallback(journal),
          () -> Main.commandLine().setOut(out).setErr(err).execute(argv));
    }
  }
}
