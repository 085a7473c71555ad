package dev.cai.app;

import com.typesafe.config.Config;
import dev.cai.actors.BatchingSettings;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.runtime.constitution.Constitution;
import dev.cai.runtime.constitution.ConstitutionLoader;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.streams.BuiltinPrompts;
import dev.cai.streams.LabelExport;
import dev.cai.streams.LabelGraph;
import dev.cai.streams.LabelJob;
import dev.cai.streams.ModelSpec;
import dev.cai.streams.PromptSource;
import dev.cai.streams.remote.RemoteSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import static dev.cai.app.CaiSystem.or;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code cai label}: AI-feedback preference labels (RL-CAI). */
@Command(name = "label", mixinStandardHelpOptions = true,
    description = "Sample two responses per prompt and label which is better with the feedback model's normalised "
        + "(A)/(B) probabilities under a random constitutional principle (soft labels); resumable; exports preference JSONL.",
    subcommands = {McEvalCommand.class})
final class LabelCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;
  @Mixin ModelOptions model;
  @Mixin ClusterOptions cluster;

  @Option(names = "--prompts", paramLabel = "FILE", description = "JSONL prompts, or builtin:red-team.")
  String prompts;

  @Option(names = "--out", paramLabel = "RUN_DIR", description = "Run directory (created; reused to resume).")
  Path out;

  @Option(names = "--feedback-model", paramLabel = "PATH",
      description = "The labeler, a path or a remote openai:BASE_URL#MODEL whose /completions echoes prompt log-probs "
          + "(default: --model).")
  String feedbackModel;

  @Option(names = "--limit", paramLabel = "K", defaultValue = "0", description = "Use only the first K prompts (0 = all).")
  long limit;

  @Option(names = "--constitution", paramLabel = "FILE", description = "Constitution (default: the built-in one).")
  Path constitution;

  @Option(names = "--debias", negatable = true, description = "Score both option orders (default: cai.label.debias).")
  Boolean debias;

  @Option(names = "--ensemble", paramLabel = "K", description = "Principles per comparison (default: cai.label.ensemble).")
  Integer ensemble;

  @Option(names = "--cot", negatable = true, description = "Chain-of-thought labels, clamped (default: cai.label.chain-of-thought).")
  Boolean cot;

  @Option(names = "--few-shot", negatable = true, description = "Labeling demonstrations (default: cai.label.few-shot).")
  Boolean fewShot;

  @Option(names = "--parallelism", paramLabel = "N", description = "Prompts in flight (default: cai.label.parallelism).")
  Integer parallelism;

  @Option(names = "--seed", description = "Seed (default: cai.label.seed).")
  Long seed;

  @Option(names = "--policy-version", defaultValue = "0", description = "Policy version recorded on the comparisons.")
  long policyVersion;

  @Override
  public Integer call() throws Exception {
    if (prompts == null || out == null) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "cai label needs --prompts and --out");
    }
    Config conf = CaiConfig.load();
    Config lc = conf.getConfig("cai.label");
    Constitution c = constitution == null ? ConstitutionLoader.loadDefault() : ConstitutionLoader.load(constitution);
    List<PromptSource> sources = List.of(new PromptSource(BuiltinPrompts.resolve(prompts, out.resolve("prompts")), false));
    LabelGraph.Settings graph = graph(lc, parallelism, seed, limit, debias, ensemble, cot, fewShot, policyVersion);
    GenerationSettings sampling = sampling(lc);
    GenerationSettings reasoning = GenerationSettings.greedy(lc.getInt("reasoning-max-new-tokens"));
    ModelSpec policy = model.modelSpec();
    LabelJob.Config job = new LabelJob.Config(policy, feedbackModel != null ? ModelSpec.parse(feedbackModel) : policy,
        sources, c, sampling, reasoning, graph, BatchingSettings.fromConfig(conf.getConfig("cai.batching")),
        model.deviceSetting(), lc.getDuration("ask-timeout"), RemoteSettings.fromConfig(conf.getConfig("cai.remote")));
    Config systemConf = cluster.apply(conf, spec.commandLine(), List.of(job.policyModel(), job.feedbackModel()));

    var err = spec.commandLine().getErr();
    var stdout = spec.commandLine().getOut();
    long t0 = System.nanoTime();
    return CaiSystem.with(systemConf, system -> {
      try (RecordStore store = RecordStore.open(out.resolve("store"));
          Monitoring.Phase phase = Monitoring.phase(conf, err, "label", out)) {
        AppMeters.observe(store, "label");
        long pending = PendingPrompts.count(sources, store, limit);
        err.printf("RL-CAI labeling: %d prompts to go (debias %s, ensemble %d, chain-of-thought %s), policy %s, labeler %s%n",
            pending, graph.debias(), graph.ensemble(), graph.chainOfThought(), policy.describe(),
            job.feedbackModel().describe());
        ProgressLine bar = new ProgressLine(err, "prompts", pending);
        LabelGraph.Summary s = LabelJob.run(system, store, job, p -> bar.update(p.comparisons() + p.failed(), 0, false))
            .toCompletableFuture().get();
        bar.update(s.comparisons() + s.failed(), 0, true);
        long exported = LabelExport.toPreferenceJsonl(store, out.resolve("comparisons.jsonl"));
        store.exportJsonl(RecordKind.COMPARISONS, out.resolve("comparisons-full.jsonl"));
        double secs = (System.nanoTime() - t0) / 1e9;
        stdout.printf("comparisons %d (failed prompts %d) this run, %.3f labels/s; %d in the run%n", s.comparisons(), s.failed(),
            s.comparisons() / secs, exported);
        stdout.printf("confidence  mean |2·p(A) − 1| = %.3f%n", s.meanConfidence());
        stdout.printf("exports     %s, %s%n", out.resolve("comparisons.jsonl"), out.resolve("comparisons-full.jsonl"));
        stdout.printf("elapsed     %s%n", ProgressLine.format(Duration.ofSeconds((long) secs)));
        return 0;
      }
    });
  }

  /** Graph settings: {@code cai.label} unless an option is given. */
  static LabelGraph.Settings graph(Config lc, Integer parallelism, Long seed, long limit, Boolean debias, Integer ensemble,
      Boolean cot, Boolean fewShot, long policyVersion) {
    return new LabelGraph.Settings(or(parallelism, lc.getInt("parallelism")), lc.getInt("commit-every"),
        lc.getDuration("commit-interval"), or(seed, lc.getLong("seed")), limit, or(debias, lc.getBoolean("debias")),
        or(ensemble, lc.getInt("ensemble")), or(cot, lc.getBoolean("chain-of-thought")), lc.getDouble("clamp-low"),
        lc.getDouble("clamp-high"), or(fewShot, lc.getBoolean("few-shot")), policyVersion);
  }

  /** How the policy samples the pair: {@code cai.label}. */
  static GenerationSettings sampling(Config lc) {
    return new GenerationSettings(lc.getInt("max-new-tokens"), lc.getDouble("temperature"), lc.getDouble("top-p"), 0, 0,
        true, List.of());
  }

  /**
   * Reads every {@code cai.label} setting this command uses (and {@code cai.batching}, {@code cai.remote}) as it would;
   * throws on a bad one.
   */
  static void check(Config conf) {
    Config lc = conf.getConfig("cai.label");
    graph(lc, null, null, 0, null, null, null, null, 0);
    sampling(lc);
    GenerationSettings.greedy(lc.getInt("reasoning-max-new-tokens"));
    lc.getDuration("ask-timeout");
    BatchingSettings.fromConfig(conf.getConfig("cai.batching"));
    RemoteSettings.fromConfig(conf.getConfig("cai.remote"));
  }
}
