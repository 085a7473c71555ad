package dev.cai.app;

import com.typesafe.config.Config;
import dev.cai.actors.BatchingSettings;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.runtime.constitution.Constitution;
import dev.cai.runtime.constitution.ConstitutionLoader;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.streams.BuiltinPrompts;
import dev.cai.streams.LivePrompts;
import dev.cai.streams.ModelSpec;
import dev.cai.streams.PromptSource;
import dev.cai.streams.SlExport;
import dev.cai.streams.SlGraph;
import dev.cai.streams.SlJob;
import dev.cai.streams.remote.RemoteSettings;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.japi.Pair;
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
    @Mixin ClusterOptions cluster;

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

    @Option(names = "--critic-model", paramLabel = "PATH",
        description = "Separate model for critiques, a path or a remote openai:BASE_URL#MODEL (default: --model).")
    String criticModel;

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

    @Option(names = "--follow", description = "Keep running: also process lines appended to the prompt files later (polled "
        + "every cai.live.poll-interval); Ctrl-C stops (committed examples are kept, the rest resumes next time).")
    boolean follow;

    @Option(names = "--http", description = "With --follow: accept prompts by HTTP POST /prompts on cai.live.http (127.0.0.1, "
        + "a free port by default, printed at start); they are appended to RUN_DIR/live-prompts.jsonl, which is followed too.")
    boolean http;

    @Override
    public Integer call() throws Exception {
      if (http && !follow) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--http needs --follow");
      }
      if (follow && limit != 0) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--limit does not apply with --follow");
      }
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
      SlJob.Config job = new SlJob.Config(model.modelSpec(), Optional.ofNullable(criticModel).map(ModelSpec::parse), sources,
          c, sampling, graph, BatchingSettings.fromConfig(conf.getConfig("cai.batching")), model.deviceSetting(),
          sl.getDuration("ask-timeout"), RemoteSettings.fromConfig(conf.getConfig("cai.remote")));
      Config systemConf = cluster.apply(conf, spec.commandLine(),
          job.criticModel().map(m -> List.of(job.policyModel(), m)).orElse(List.of(job.policyModel())));

      long t0 = System.nanoTime();
      CompletableFuture<Void> wrappedUp = new CompletableFuture<>(); // exports written and totals printed
      return CaiSystem.with(systemConf, system -> {
        try (RecordStore store = RecordStore.open(out.resolve("store"));
            Monitoring.Phase phase = Monitoring.phase(conf, spec.commandLine().getErr(), "sl-generate", out)) {
          AppMeters.observe(store, "sl");
          return generate(system, store, job, conf, sources, graph, c, t0, wrappedUp);
        } finally {
          wrappedUp.complete(null); // after the store is closed
        }
      });
    }

    /** Runs the graph (over the files, or live), exports and prints the totals; returns the exit code. */
    private int generate(ActorSystem<?> system, RecordStore store, SlJob.Config job, Config conf, List<PromptSource> sources,
        SlGraph.Settings graph, Constitution c, long t0, CompletableFuture<Void> wrappedUp) throws Exception {
      var err = spec.commandLine().getErr();
      var stdout = spec.commandLine().getOut();
      SlGraph.Summary s;
      if (follow) {
        err.printf("SL-CAI (live): %d rounds, constitution %s %s, model %s, run %s%n", graph.rounds(), c.name(),
            c.contentSha256().substring(0, 12), job.policyModel().describe(), out);
        s = runLive(system, store, job, conf.getConfig("cai.live"), err, wrappedUp);
      } else {
        long pending = PendingPrompts.count(sources, store, limit);
        err.printf("SL-CAI: %d prompts to go (%d rounds, constitution %s %s), model %s, run %s%n", pending, graph.rounds(),
            c.name(), c.contentSha256().substring(0, 12), job.policyModel().describe(), out);
        ProgressLine bar = new ProgressLine(err, "prompts", pending);
        s = SlJob.run(system, store, job, p -> bar.update(p.examples(), p.promptTokens() + p.completionTokens(), false))
            .toCompletableFuture().get();
        bar.update(s.examples(), s.promptTokens() + s.completionTokens(), true);
      }
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

    /**
     * Follows the prompt files (and with --http the run's prompt journal, fed by the endpoint) until the JVM is
     * stopped (Ctrl-C): then the feed stops taking prompts, and the coordinated shutdown waits (phase
     * before-service-unbind, see the app's reference.conf) for the prompts in flight to be committed and for
     * {@code wrappedUp} (the exports) before the actor system goes down. Returns this run's totals.
     */
    private SlGraph.Summary runLive(ActorSystem<?> system, RecordStore store, SlJob.Config job, Config live, PrintWriter err,
        CompletableFuture<Void> wrappedUp) throws Exception {
      LivePrompts.Settings settings = LivePrompts.Settings.fromConfig(live, true);
      try (LiveInputs inputs = LiveInputs.open(system, out, live, http, err)) {
        err.printf("following %s (checked every %d ms); Ctrl-C stops%n", String.join(", ", job.sources().stream()
            .map(ps -> ps.file().toString()).toList()), settings.pollInterval().toMillis());
        ProgressLine bar = new ProgressLine(err, "prompts", 0);
        Pair<LivePrompts.Control, CompletionStage<SlGraph.Summary>> m = SlJob.run(system, store, job,
            LivePrompts.source(job.sources(), inputs.journal(), store::resumeOffset, settings,
                bad -> err.println("skipped " + bad.getMessage())),
            p -> bar.update(p.examples(), p.promptTokens() + p.completionTokens(), false));
        CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "stop-prompt-feed", () -> {
          m.first().stop();
          return m.second().handle((summary, e) -> null).thenCompose(x -> wrappedUp).thenApply(x -> Done.getInstance());
        });
        SlGraph.Summary s = m.second().toCompletableFuture().get();
        bar.update(s.examples(), s.promptTokens() + s.completionTokens(), true);
        return s;
      }
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

    /**
     * Reads every {@code cai.sl} setting this command uses (and {@code cai.batching}, {@code cai.remote}) as it would;
     * throws on a bad one.
     */
    static void check(Config conf) {
      Config sl = conf.getConfig("cai.sl");
      sampling(sl, null, null);
      graph(sl, null, null, null, 0, null, null);
      sl.getDuration("ask-timeout");
      BatchingSettings.fromConfig(conf.getConfig("cai.batching"));
      RemoteSettings.fromConfig(conf.getConfig("cai.remote"));
    }
  }
}
