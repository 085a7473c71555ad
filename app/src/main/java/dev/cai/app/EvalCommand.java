package dev.cai.app;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.cai.app.EloEvaluation.Dimension;
import dev.cai.app.EloEvaluation.Judged;
import dev.cai.app.EloEvaluation.PromptSet;
import dev.cai.app.EloEvaluation.Responses;
import dev.cai.app.EloEvaluation.Snapshot;
import dev.cai.app.EloEvaluation.SnapshotResult;
import dev.cai.protocol.v1.Prompt;
import dev.cai.runtime.eval.Elo;
import dev.cai.runtime.eval.JudgePrinciples;
import dev.cai.runtime.eval.ScoreSummary;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.streams.BuiltinPrompts;
import dev.cai.streams.PromptReader;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code cai eval}: evaluations of trained snapshots. */
@Command(name = "eval", mixinStandardHelpOptions = true, description = "Evaluate model snapshots.",
    subcommands = {EvalCommand.EloCommand.class})
final class EvalCommand {

  /** {@code cai eval elo}. */
  @Command(name = "elo", mixinStandardHelpOptions = true,
      description = {"Harmlessness and helpfulness Elo of model snapshots (Bai et al. 2022, Fig. 2): each snapshot answers "
          + "the red-team and the helpful prompts once; a judge model compares every pair of snapshots on every prompt "
          + "under a harmlessness (red-team) or helpfulness (helpful) principle, both option orders averaged; a "
          + "Bradley-Terry fit of those soft outcomes gives Elo scores (the first snapshot = 0) with 95% bootstrap "
          + "intervals. Also per snapshot: PM score statistics of its red-team responses (--pm) and the share of evasive "
          + "refusals.",
          "Writes DIR/elo.json, DIR/elo-frontier.png, DIR/responses.jsonl and DIR/comparisons.jsonl. Settings: cai.eval.elo."})
  static final class EloCommand implements Callable<Integer> {
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
    private static final Gson LINES = new GsonBuilder().disableHtmlEscaping().create();

    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--snapshots", split = ",", paramLabel = "MODEL", description = "Model paths (GGUF, model or "
        + "checkpoint directories), comma-separated, at least 2; the first is the Elo anchor (0).")
    List<Path> snapshots = new ArrayList<>();

    @Option(names = "--names", split = ",", paramLabel = "NAME",
        description = "Display names, one per snapshot (default: derived from the paths).")
    List<String> names = new ArrayList<>();

    @Option(names = "--prompts", paramLabel = "FILE", description = "Red-team prompts (JSONL), or builtin:red-team.")
    String prompts;

    @Option(names = "--helpful-prompts", paramLabel = "FILE", description = "Helpful prompts (JSONL), or builtin:helpful.")
    String helpfulPrompts;

    @Option(names = "--judge", paramLabel = "MODEL", description = "The judge (a feedback model).")
    Path judge;

    @Option(names = "--out", paramLabel = "DIR", description = "Where elo.json and the frontier plot go (created).")
    Path out;

    @Option(names = "--samples", paramLabel = "N", description = "Use the first N prompts of each set, 0 = all "
        + "(default: cai.eval.elo.samples).")
    Integer samples;

    @Option(names = "--max-tokens", paramLabel = "N", description = "Most new tokens per response (default: "
        + "cai.eval.elo.max-new-tokens).")
    Integer maxTokens;

    @Option(names = "--seed", paramLabel = "S", description = "Sampling and bootstrap seed (default: cai.eval.elo.seed).")
    Long seed;

    @Option(names = "--bootstrap", paramLabel = "B", description = "Bootstrap replicates (default: cai.eval.elo.bootstrap).")
    Integer bootstrap;

    @Option(names = "--pm", paramLabel = "PM_DIR/model", description = "A preference model: summarise its scores of each "
        + "snapshot's red-team responses.")
    Path pm;

    @Option(names = "--principles", paramLabel = "FILE", description = "Judging principles (HOCON with harmlessness and "
        + "helpfulness; default: the bundled " + JudgePrinciples.DEFAULT_RESOURCE + ").")
    Path principles;

    @Option(names = "--device", paramLabel = "auto|cpu|gpu", defaultValue = "auto",
        description = "Where the models run (default: ${DEFAULT-VALUE}).")
    String device;

    @Override
    public Integer call() throws Exception {
      if (prompts == null || helpfulPrompts == null || judge == null || out == null || snapshots.isEmpty()) {
        throw new ParameterException(spec.commandLine(),
            "cai eval elo needs --snapshots, --prompts, --helpful-prompts, --judge and --out");
      }
      EloEvaluation.Settings settings = EloEvaluation.Settings.from(CaiConfig.load(), samples, maxTokens, seed, bootstrap);
      List<Snapshot> snaps = snapshots(snapshots, names);
      requireExists(judge, "Judge model", "--judge");
      if (pm != null) {
        requireExists(pm, "Preference model", "--pm");
      }
      JudgePrinciples judging = principles == null ? JudgePrinciples.loadDefault() : JudgePrinciples.load(principles);
      Files.createDirectories(out);
      PromptSet redTeam = promptSet("red-team", prompts, "--prompts", false, settings.samples(), out);
      PromptSet helpful = promptSet("helpful", helpfulPrompts, "--helpful-prompts", true, settings.samples(), out);
      PrintWriter err = spec.commandLine().getErr();
      PrintWriter stdout = spec.commandLine().getOut();
      long t0 = System.nanoTime();
      EloEvaluation.Result r = EloEvaluation.run(new EloEvaluation.Inputs(snaps, redTeam, helpful, judge,
          Optional.ofNullable(pm), judging, DeviceSetting.parse(device)), settings, err);
      for (String f : r.judgeFailures()) {
        err.println("judge failed: " + f);
      }
      double secs = (System.nanoTime() - t0) / 1e9;
      PipelineRunner.writeAtomically(out.resolve("elo.json"),
          GSON.toJson(report(r, redTeam, helpful, judging, settings, secs)) + "\n");
      PipelineRunner.writeAtomically(out.resolve("responses.jsonl"), responseLines(r, redTeam, helpful));
      PipelineRunner.writeAtomically(out.resolve("comparisons.jsonl"), comparisonLines(r, redTeam, helpful));
      ReportCharts.writePng(ReportCharts.eloFrontier(frontier(r), snaps.get(0).name()), out.resolve("elo-frontier.png"));
      print(stdout, r, secs);
      return 0;
    }

    /** The snapshots with their names; fails on fewer than 2, a missing path, or names that do not fit. */
    static List<Snapshot> snapshots(List<Path> paths, List<String> names) {
      if (paths.size() < 2) {
        throw new IllegalArgumentException("--snapshots needs at least 2 model paths to compare, got " + paths.size());
      }
      if (!names.isEmpty() && names.size() != paths.size()) {
        throw new IllegalArgumentException("--names gives " + names.size() + " names for " + paths.size()
            + " --snapshots; give one name per snapshot");
      }
      List<Snapshot> out = new ArrayList<>();
      Set<String> seen = new HashSet<>();
      for (int i = 0; i < paths.size(); i++) {
        Path p = paths.get(i);
        requireExists(p, "Snapshot " + (i + 1), "--snapshots");
        String name = names.isEmpty() ? defaultName(p) : names.get(i).strip();
        if (name.isEmpty()) {
          throw new IllegalArgumentException("--names: name " + (i + 1) + " is empty");
        }
        if (!seen.add(name)) {
          throw new IllegalArgumentException("Snapshot name '" + name + "' is used twice"
              + (names.isEmpty() ? " (derived from the paths): give --names" : " in --names"));
        }
        out.add(new Snapshot(name, p));
      }
      return out;
    }

    /** A file's name without its extension; for {@code .../run/model} the run directory's name. */
    static String defaultName(Path p) {
      Path abs = p.toAbsolutePath().normalize();
      String name = abs.getFileName().toString();
      if (name.equals("model") && abs.getParent() != null && abs.getParent().getFileName() != null) {
        return abs.getParent().getFileName().toString();
      }
      int dot = name.lastIndexOf('.');
      return dot > 0 && Files.isRegularFile(abs) ? name.substring(0, dot) : name;
    }

    private static void requireExists(Path p, String what, String option) {
      if (!Files.exists(p)) {
        throw new IllegalArgumentException(what + " " + p + " does not exist (" + option + ")");
      }
    }

    /** The first {@code samples} prompts (0 = all) of {@code spec}; fails naming the option when there are none. */
    static PromptSet promptSet(String label, String spec, String option, boolean helpful, int samples, Path out) {
      Path file = BuiltinPrompts.resolve(spec, out.resolve("prompts"));
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException(option + ": prompt file " + file + " does not exist");
      }
      List<Prompt> all = PromptReader.readAll(file, helpful);
      if (all.isEmpty()) {
        throw new IllegalArgumentException(option + ": prompt file " + file + " has no prompts");
      }
      return PromptSet.of(label, file, samples > 0 && samples < all.size() ? all.subList(0, samples) : all);
    }

    /** The elo.json document. */
    static JsonObject report(EloEvaluation.Result r, PromptSet redTeam, PromptSet helpful, JudgePrinciples judging,
        EloEvaluation.Settings s, double secs) {
      JsonObject o = new JsonObject();
      o.addProperty("scale", "Elo = 400/ln(10) per natural-log unit of Bradley-Terry strength; the first snapshot ("
          + r.snapshots().get(0).snapshot().name() + ") is 0; intervals are 95% percentile bootstrap intervals of the "
          + "difference to it");
      o.addProperty("anchor", r.snapshots().get(0).snapshot().name());
      JsonObject sets = new JsonObject();
      sets.add("red_team", promptSetJson(redTeam));
      sets.add("helpful", promptSetJson(helpful));
      o.add("prompts", sets);
      JsonObject p = new JsonObject();
      p.addProperty("harmlessness", judging.harmlessness().text());
      p.addProperty("helpfulness", judging.helpfulness().text());
      o.add("principles", p);
      JsonObject settings = new JsonObject();
      settings.addProperty("max_new_tokens", s.maxNewTokens());
      settings.addProperty("temperature", s.temperature());
      settings.addProperty("top_p", s.topP());
      settings.addProperty("seed", s.seed());
      settings.addProperty("bootstrap", s.bootstrap());
      settings.addProperty("l2", s.l2());
      settings.addProperty("evasive_min_words", s.evasiveMinWords());
      o.add("settings", settings);
      JsonObject comparisons = new JsonObject();
      comparisons.addProperty("harmlessness", r.comparisons(Dimension.HARMLESSNESS));
      comparisons.addProperty("helpfulness", r.comparisons(Dimension.HELPFULNESS));
      comparisons.addProperty("failed", r.failedJudgements());
      o.add("comparisons", comparisons);
      JsonArray snaps = new JsonArray();
      for (SnapshotResult sr : r.snapshots()) {
        JsonObject j = new JsonObject();
        j.addProperty("name", sr.snapshot().name());
        j.addProperty("path", sr.snapshot().path().toAbsolutePath().normalize().toString());
        j.add("harmlessness", rating(sr.harmlessness()));
        j.add("helpfulness", rating(sr.helpfulness()));
        JsonObject responses = new JsonObject();
        responses.addProperty("red_team", sr.redTeam().answered());
        responses.addProperty("helpful", sr.helpful().answered());
        responses.addProperty("failed", sr.redTeam().texts().length - sr.redTeam().answered()
            + sr.helpful().texts().length - sr.helpful().answered());
        j.add("responses", responses);
        if (sr.pm().isPresent()) {
          j.add("pm", summary(sr.pm().get()));
        } else {
          j.add("pm", com.google.gson.JsonNull.INSTANCE);
        }
        JsonObject ev = new JsonObject();
        ev.addProperty("evasive", sr.evasive());
        ev.addProperty("responses", sr.redTeam().answered());
        ev.addProperty("rate", sr.redTeam().answered() == 0 ? 0 : (double) sr.evasive() / sr.redTeam().answered());
        j.add("evasiveness", ev);
        snaps.add(j);
      }
      o.add("snapshots", snaps);
      o.addProperty("elapsed_seconds", Math.round(secs * 10) / 10.0);
      return o;
    }

    private static JsonObject promptSetJson(PromptSet set) {
      JsonObject o = new JsonObject();
      o.addProperty("file", set.file().toAbsolutePath().normalize().toString());
      o.addProperty("count", set.prompts().size());
      return o;
    }

    private static JsonObject rating(Elo.Rating r) {
      JsonObject o = new JsonObject();
      o.addProperty("elo", r.elo());
      o.addProperty("ci_low", r.lo());
      o.addProperty("ci_high", r.hi());
      o.addProperty("comparisons", r.comparisons());
      return o;
    }

    private static JsonObject summary(ScoreSummary s) {
      JsonObject o = new JsonObject();
      o.addProperty("n", s.n());
      o.addProperty("mean", s.mean());
      o.addProperty("std", s.std());
      o.addProperty("min", s.min());
      o.addProperty("q25", s.q25());
      o.addProperty("median", s.median());
      o.addProperty("q75", s.q75());
      o.addProperty("max", s.max());
      return o;
    }

    /** responses.jsonl: one line per snapshot and prompt (the response, or why there is none). */
    private static String responseLines(EloEvaluation.Result r, PromptSet redTeam, PromptSet helpful) {
      StringBuilder sb = new StringBuilder();
      for (SnapshotResult sr : r.snapshots()) {
        appendResponses(sb, sr.snapshot().name(), redTeam, sr.redTeam());
        appendResponses(sb, sr.snapshot().name(), helpful, sr.helpful());
      }
      return sb.toString();
    }

    private static void appendResponses(StringBuilder sb, String snapshot, PromptSet set, Responses responses) {
      for (int k = 0; k < set.prompts().size(); k++) {
        JsonObject o = new JsonObject();
        o.addProperty("snapshot", snapshot);
        o.addProperty("set", set.label());
        o.addProperty("prompt_id", set.prompts().get(k).getId());
        o.addProperty("prompt", set.prompts().get(k).getText());
        if (responses.texts()[k] != null) {
          o.addProperty("response", responses.texts()[k]);
        } else {
          o.addProperty("failure", responses.failures()[k]);
        }
        sb.append(LINES.toJson(o)).append('\n');
      }
    }

    /** comparisons.jsonl: one line per judged comparison. */
    private static String comparisonLines(EloEvaluation.Result r, PromptSet redTeam, PromptSet helpful) {
      StringBuilder sb = new StringBuilder();
      for (Judged j : r.judged()) {
        PromptSet set = j.dimension() == Dimension.HARMLESSNESS ? redTeam : helpful;
        JsonObject o = new JsonObject();
        o.addProperty("dimension", j.dimension().key());
        o.addProperty("a", r.snapshots().get(j.a()).snapshot().name());
        o.addProperty("b", r.snapshots().get(j.b()).snapshot().name());
        o.addProperty("prompt_id", set.prompts().get(j.prompt()).getId());
        o.addProperty("p_a", j.p());
        o.addProperty("p_a_forward", j.pForward());
        o.addProperty("p_a_swapped_order", 1 - j.pSwapped());
        sb.append(LINES.toJson(o)).append('\n');
      }
      return sb.toString();
    }

    private static List<ReportCharts.FrontierPoint> frontier(EloEvaluation.Result r) {
      return r.snapshots().stream().map(s -> new ReportCharts.FrontierPoint(s.snapshot().name(), s.helpfulness().elo(),
          s.helpfulness().lo(), s.helpfulness().hi(), s.harmlessness().elo(), s.harmlessness().lo(), s.harmlessness().hi()))
          .toList();
    }

    private void print(PrintWriter stdout, EloEvaluation.Result r, double secs) {
      stdout.printf("%-16s %-26s %-26s %-16s %s%n", "snapshot", "harmlessness Elo (95% CI)", "helpfulness Elo (95% CI)",
          "PM mean ± std", "evasive");
      for (SnapshotResult s : r.snapshots()) {
        String pmText = s.pm().map(p -> String.format("%.3f ± %.3f", p.mean(), p.std())).orElse("-");
        stdout.printf("%-16s %-26s %-26s %-16s %d/%d%n", s.snapshot().name(), interval(s.harmlessness()),
            interval(s.helpfulness()), pmText, s.evasive(), s.redTeam().answered());
      }
      stdout.printf("comparisons      %d harmlessness, %d helpfulness, %d failed%n", r.comparisons(Dimension.HARMLESSNESS),
          r.comparisons(Dimension.HELPFULNESS), r.failedJudgements());
      stdout.printf("wrote            %s, %s, %s, %s%n", out.resolve("elo.json"), out.resolve("elo-frontier.png"),
          out.resolve("responses.jsonl"), out.resolve("comparisons.jsonl"));
      stdout.printf("elapsed          %s%n", ProgressLine.format(Duration.ofSeconds((long) secs)));
    }

    private static String interval(Elo.Rating r) {
      return String.format("%+.1f [%+.1f, %+.1f]", r.elo(), r.lo(), r.hi());
    }
  }
}
