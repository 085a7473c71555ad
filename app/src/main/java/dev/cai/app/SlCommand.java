package dev.cai.app;

import com.typesafe.config.Config;
import dev.cai.actors.BatchingSettings;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.runtime.constitution.Constitution;
import dev.cai.runtime.constitution.ConstitutionLoader;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.streams.BuiltinPrompts;
import dev.cai.streams.PromptSource;
import dev.cai.streams.SlExport;
import dev.cai.streams.SlGraph;
import dev.cai.streams.SlJob;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import static dev.cai.app.CaiSystem.or;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code cai sl}: the supervised phase of Constitutional AI. */
@Command(name = "sl", mixinStandardHelpOptions = true, description = "SL-CAI: critique/revision data generation and SFT.",
    subcommands = {SlCommand.Generate.class, SlTrainCommand.class})
final class SlCommand {

  /** {@code cai sl generate}. */
  @Command(name = "generate", mixinStandardHelpOptions = true,
      description = "Answer red-team prompts, then critique and revise each answer N times under random constitutional "
          + "principles; store the examples in RUN_DIR (resumable) and export them as chat JSONL.")
  static final class Generate implements Callable<Integer> {
    @Spec picocli.CommandLine.Model.CommandSpec spec;
    @Mixin ModelOptions model;

    @Option(names = "--prompts", required = true, paramLabel = "FILE",
        description = "JSONL prompts ({\"prompt\": ...}, hh-rlhf transcripts or {\"chosen\", \"rejected\"}; .gz ok), "
            + "or builtin:red-team.")
    String prompts;

    @Option(names = "--out", required = true, paramLabel = "RUN_DIR", description = "Run directory (created; reused to resume).")
    Path out;

    @Option(names = "--rounds", paramLabel = "N", description = "Critique/revision rounds (default: cai.sl.rounds = 4).")
    Integer rounds;

    @Option(names = "--limit", paramLabel = "K", defaultValue = "0", description = "Use only the first K prompts (0 = all).")
    long limit;

    @Option(names = "--constitution", paramLabel = "FILE",
        description = "Constitution file (HOCON/JSON) or the paper's prompts directory (default: the built-in one).")
    Path constitution;

    @Option(names = "--critic-model", paramLabel = "PATH", description = "Separate model for critiques (default: --model).")
    Path criticModel;

    @Option(names = "--helpful", paramLabel = "FILE", defaultValue = "builtin:helpful",
        description = "Benign prompts answered without critique, for the helpfulness mix (default: ${DEFAULT-VALUE}; 'none' to skip).")
    String helpful;

    @Option(names = "--parallelism", paramLabel = "N", description = "Prompts in flight (default: cai.sl.parallelism).")
    Integer parallelism;

    @Option(names = "--max-tokens", paramLabel = "N", description = "Most new tokens per model call (default: cai.sl.max-new-tokens).")
    Integer maxTokens;

    @Option(names = "--temperature", description = "Sampling temperature (default: cai.sl.temperature).")
    Double temperature;

    @Option(names = "--seed", description = "Seed of principle draws and sampling (default: cai.sl.seed).")
    Long seed;

    @Option(names = "--few-shot", negatable = true, description = "Show critique/revision demonstrations (default: cai.sl.few-shot).")
    Boolean fewShot;

    @Option(names = "--cot", negatable = true, description = "Chain-of-thought critiques (default: cai.sl.chain-of-thought).")
    Boolean cot;

    @Override
    public Integer call() throws Exception {
      Config conf = CaiConfig.load();
      Config sl = conf.getConfig("cai.sl");
      Constitution c = constitution == null ? ConstitutionLoader.loadDefault() : ConstitutionLoader.load(constitution);
      Path promptsDir = out.resolve("prompts");
      List<PromptSource> sources = new ArrayList<>();
      sources.add(new PromptSource(BuiltinPrompts.resolve(prompts, promptsDir), false));
      if (!helpful.equals("none")) {
        sources.add(new PromptSource(BuiltinPrompts.resolve(helpful, promptsDir), true));
      }
      GenerationSettings sampling = sampling(sl, maxTokens, temperature);
      SlGraph.Settings graph = graph(sl, rounds, parallelism, seed, limit, fewShot, cot);
      SlJob.Config job = new SlJob.Config(model.modelPath(), Optional.ofNullable(criticModel), sources, c, sampling, graph,
          BatchingSettings.fromConfig(conf.getConfig("cai.batching")), model.deviceSetting(), sl.getDuration("ask-timeout"));

      var err = spec.commandLine().getErr();
      var stdout = spec.commandLine().getOut();
      long t0 = System.nanoTime();
      return CaiSystem.with(conf, system -> {
        try (RecordStore store = RecordStore.open(out.resolve("store"))) {
          long pending = PendingPrompts.count(sources, store, limit);
          err.printf("SL-CAI: %d prompts to go (%d rounds, constitution %s %s), model %s, run %s%n", pending, graph.rounds(),
              c.name(), c.contentSha256().substring(0, 12), job.policyModel().getFileName(), out);
          ProgressLine bar = new ProgressLine(err, "prompts", pending);
          SlGraph.Summary s = SlJob.run(system, store, job, p -> bar.update(p.examples(), p.promptTokens() + p.completionTokens(), false))
              .toCompletableFuture().get();
          bar.update(s.examples(), s.promptTokens() + s.completionTokens(), true);
          long chat = SlExport.toChatJsonl(store, out.resolve("sl-sft.jsonl"));
          long all = store.exportJsonl(RecordKind.SL_EXAMPLES, out.resolve("sl-examples.jsonl"));
          double secs = (System.nanoTime() - t0) / 1e9;
          stdout.printf("examples %d (failed %d) this run; %d in the run, %d usable for SFT%n", s.examples(), s.failed(), all, chat);
          stdout.printf("tokens   %d prompt + %d generated; %.1f generated tokens/s%n", s.promptTokens(), s.completionTokens(),
              s.completionTokens() / secs);
          stdout.printf("elapsed  %s%n", ProgressLine.format(Duration.ofSeconds((long) secs)));
          stdout.printf("exports  %s, %s%n", out.resolve("sl-sft.jsonl"), out.resolve("sl-examples.jsonl"));
          return s.failed() == s.examples() && s.examples() > 0 ? 1 : 0;
        }
      });
    }

    /** Sampling of every SL model call: {@code cai.sl} unless an option is given. */
    static GenerationSettings sampling(Config sl, Integer maxTokens, Double temperature) {
      return new GenerationSettings(or(maxTokens, sl.getInt("max-new-tokens")), or(temperature, sl.getDouble("temperature")),
          sl.getDouble("top-p"), sl.getInt("top-k"), 0, true, List.of());
    }

    /** Graph settings: {@code cai.sl} unless an option is given. */
    static SlGraph.Settings graph(Config sl, Integer rounds, Integer parallelism, Long seed, long limit, Boolean fewShot,
        Boolean cot) {
      return new SlGraph.Settings(or(rounds, sl.getInt("rounds")), or(parallelism, sl.getInt("parallelism")),
          sl.getInt("commit-every"), sl.getDuration("commit-interval"), or(seed, sl.getLong("seed")), limit,
          or(fewShot, sl.getBoolean("few-shot")), or(cot, sl.getBoolean("chain-of-thought")));
    }

    /** Reads every {@code cai.sl} setting this command uses (and {@code cai.batching}) as it would; throws on a bad one. */
    static void check(Config conf) {
      Config sl = conf.getConfig("cai.sl");
      sampling(sl, null, null);
      graph(sl, null, null, null, 0, null, null);
      sl.getDuration("ask-timeout");
      BatchingSettings.fromConfig(conf.getConfig("cai.batching"));
    }
  }
}
