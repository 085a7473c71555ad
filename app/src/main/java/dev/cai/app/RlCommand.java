package dev.cai.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import dev.cai.actors.BatchingSettings;
import dev.cai.actors.LearnerActor;
import dev.cai.actors.RlMetrics;
import dev.cai.cluster.weights.WeightPublisher;
import dev.cai.persistence.RecordStore;
import dev.cai.runtime.constitution.ConstitutionLoader;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.io.HuggingFaceDirectory;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.ppo.UpdateStats;
import dev.cai.streams.BuiltinPrompts;
import dev.cai.streams.LivePrompts;
import dev.cai.streams.ModelSpec;
import dev.cai.streams.PmRefresher;
import dev.cai.streams.PromptSource;
import dev.cai.streams.RlJob;
import dev.cai.streams.RlSettings;
import dev.cai.streams.remote.RemoteSettings;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code cai rl}: online RL-CAI with PPO. */
@Command(name = "rl", mixinStandardHelpOptions = true,
    description = "RL-CAI: online PPO against the preference model with a per-token KL penalty to the SL-CAI policy.",
    subcommands = {RlCommand.Train.class})
final class RlCommand {

  /** {@code cai rl train}. */
  @Command(name = "train", mixinStandardHelpOptions = true,
      description = "Online PPO: policy actors sample batches of prompts (policy version v = weights after v updates; with "
          + "max-staleness 1 sampling overlaps learning), the frozen SL-CAI model gives reference log-probs, the preference "
          + "model scores each response, the learner (policy + critic) updates and publishes new weights. Rollouts, offsets "
          + "and the learner's whole state live in RUN_DIR/store; an interrupted run resumes exactly (bit-identical weights). "
          + "Metrics: RUN_DIR/" + RlJob.METRICS_FILE + "; the final policy: RUN_DIR/model. Settings: cai.rl in reference.conf.")
  static final class Train implements Callable<Integer> {
    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--sl-checkpoint", paramLabel = "DIR",
        description = "The SL-CAI policy (cai sl train's RUN_DIR/sl-train/model, or any model directory or .gguf): "
            + "policy version 0 and the frozen reference.")
    Path slCheckpoint;

    @Option(names = "--pm", paramLabel = "DIR", description = "The preference model (cai pm train's PM_DIR/model).")
    Path pm;

    @Option(names = "--prompts", paramLabel = "FILE", description = "JSONL prompts, or builtin:red-team (repeatable).")
    List<String> prompts = new ArrayList<>();

    @Option(names = "--out", paramLabel = "RUN_DIR", description = "Run directory (created; reused to resume).")
    Path out;

    @Option(names = "--updates", paramLabel = "N",
        description = "Stop when the policy reaches version N (N updates in all, resumed runs included; default: until the "
            + "prompts run out).")
    Long updates;

    private final UpdateClock clock = new UpdateClock(); // updates/s and ETA on the progress lines

    @Option(names = "--device", paramLabel = "auto|cpu|gpu", defaultValue = "auto",
        description = "Where the models run (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--batch-size", paramLabel = "B", description = "Prompts per update (default: cai.rl.batch-size).")
    Integer batchSize;

    @Option(names = "--max-staleness", paramLabel = "0|1", description = "Pipeline lag (default: cai.rl.max-staleness).")
    Integer maxStaleness;

    @Option(names = "--critic-init", paramLabel = "pm|policy", description = "Critic start (default: cai.rl.critic-init).")
    String criticInit;

    @Option(names = "--follow", description = "Keep running: also learn from prompts appended to the prompt files later "
        + "(polled every cai.live.poll-interval), until --updates or Ctrl-C; batches then follow arrival order.")
    boolean follow;

    @Option(names = "--http", description = "With --follow: accept prompts by HTTP POST /prompts on cai.live.http (127.0.0.1, "
        + "a free port by default, printed at start); they are appended to RUN_DIR/live-prompts.jsonl, which is followed too.")
    boolean http;

    @Option(names = "--seed", description = "Seed (default: cai.rl.seed).")
    Long seed;

    @Option(names = "--policy-workers", paramLabel = "local|cluster", defaultValue = "local",
        description = "Who samples the rollouts: this process's policy actors, or the policy workers of the cluster "
            + "joined with --cluster-seed (cai node --role policy --rollouts --model SL_CHECKPOINT), which receive every "
            + "published policy version by weight shipping (default: ${DEFAULT-VALUE}).")
    String policyWorkers;

    @Option(names = "--continual-every", paramLabel = "N",
        description = "Continual RLAIF: every N rollout batches, pair the batch's first prompts with second samples, label "
            + "them with --feedback-model and refresh the preference model on the run's comparisons, so the reward follows "
            + "the policy (default: cai.rl.continual.every; 0 = off).")
    Integer continualEvery;

    @Option(names = "--feedback-model", paramLabel = "PATH|cluster:feedback|openai:URL#MODEL",
        description = "Continual RLAIF's labeler (default: the SL checkpoint); labeling settings: cai.label.")
    String feedbackModel;

    @Option(names = "--constitution", paramLabel = "FILE",
        description = "Continual RLAIF's constitution (default: the built-in one).")
    Path constitution;

    @Mixin ClusterOptions cluster;

    @Override
    public Integer call() throws Exception {
      if (!policyWorkers.equals("local") && !policyWorkers.equals("cluster")) {
        throw new ParameterException(spec.commandLine(), "--policy-workers must be local or cluster, got " + policyWorkers);
      }
      if (slCheckpoint == null || pm == null || prompts.isEmpty() || out == null) {
        throw new ParameterException(spec.commandLine(), "cai rl train needs --sl-checkpoint, --pm, --prompts and --out");
      }
      if (http && !follow) {
        throw new ParameterException(spec.commandLine(), "--http needs --follow");
      }
      Config conf = overridden(CaiConfig.load());
      RlSettings rl = RlSettings.fromConfig(conf.getConfig("cai.rl"));
      List<PromptSource> sources = new ArrayList<>();
      for (String p : prompts) {
        sources.add(new PromptSource(BuiltinPrompts.resolve(p, out.resolve("prompts")), false));
      }
      long target = updates == null ? Long.MAX_VALUE : updates;
      RlJob.Config onePm = new RlJob.Config(slCheckpoint, pm, sources, rl, target,
          BatchingSettings.fromConfig(conf.getConfig("cai.batching")), DeviceSetting.parse(device),
          Optional.of(out.resolve(RlJob.METRICS_FILE)), Optional.of(out.resolve("model")));
      Optional<RlJob.Continual> continual = continual(conf, rl, slCheckpoint, feedbackModel, constitution, out);
      RlJob.Config job = continual.isPresent() ? onePm.withContinual(continual.get()) : onePm;
      PrintWriter err = spec.commandLine().getErr();
      if (continual.isEmpty() && (feedbackModel != null || constitution != null)) {
        err.println("--feedback-model and --constitution are used by continual RLAIF only (--continual-every N, or "
            + "cai.rl.continual.every): ignored");
      }
      RlJob.validate(job);
      PrintWriter stdout = spec.commandLine().getOut();
      long t0 = System.nanoTime();
      List<ModelSpec> clusterModels = new ArrayList<>();
      if (policyWorkers.equals("cluster")) {
        clusterModels.add(new ModelSpec.Cluster("policy"));
      }
      continual.ifPresent(cc -> clusterModels.add(cc.feedbackModel()));
      Config systemConf = cluster.apply(conf, spec.commandLine(), clusterModels);
      return CaiSystem.with(systemConf, system -> {
        // with cluster workers, each published version is shipped to them
        RlJob.Hooks remote = policyWorkers.equals("cluster")
            ? RlJob.Hooks.NONE.withRemotePolicy(WeightPublisher.start(system)) : RlJob.Hooks.NONE;
        try (RecordStore store = RecordStore.open(out.resolve("store"));
            Monitoring.Phase phase = Monitoring.phase(conf, err, "rl", out)) {
          AppMeters.observe(store, "rl");
          err.printf("RL-CAI PPO: policy %s, preference model %s, batches of %d, max-staleness %d, critic from %s, %s%n",
              slCheckpoint, pm, rl.batchSize(), rl.lag(), rl.criticInit().name().toLowerCase(Locale.ROOT),
              updates == null ? "until the prompts run out" : "to " + updates + " updates");
          continual.ifPresent(cc -> err.printf("continual RLAIF: every %d batches, %d pairs labeled by %s, refreshed PMs in %s%n",
              cc.refresh().every(), cc.refresh().pairs(), cc.feedbackModel().describe(), cc.dir()));
          err.printf("metrics: %s%n", out.resolve(RlJob.METRICS_FILE));
          err.flush();
          RlJob.Summary s = follow ? runLive(system, store, job, conf.getConfig("cai.live"), err, remote)
              : RlJob.run(system, store, job, Optional.empty(), p -> progress(p, updates, err, clock), remote)
                  .toCompletableFuture().get();
          double secs = (System.nanoTime() - t0) / 1e9;
          stdout.printf("policy    version %d (started at %d): %d updates this run, %d replayed from the store%n", s.version(),
              s.startVersion(), s.version() - s.startVersion(), s.replayedBatches());
          stdout.printf("rollouts  %d learned this run, %d prompts skipped (too long for a model's context)%n", s.rollouts(),
              s.skipped());
          stdout.printf("commits   %s%n", commits(s.commits()));
          stdout.printf("metrics   %s%n", out.resolve(RlJob.METRICS_FILE));
          s.exported().ifPresent(dir -> stdout.printf("model     %s (%s)%n", dir,
              Files.isRegularFile(dir.resolve(HuggingFaceDirectory.TOKENIZER)) ? "use it with --model"
                  : "weights only: the SL checkpoint has no " + HuggingFaceDirectory.TOKENIZER + " to copy"));
          stdout.printf("elapsed   %s%n", ProgressLine.format(Duration.ofSeconds((long) secs)));
          return 0;
        }
      });
    }

    /**
     * Learns from a live feed (the prompt files followed, and with --http the run's prompt journal) until --updates or
     * Ctrl-C: the coordinated shutdown stops the feed, the learner takes what is in flight, commits if its schedule
     * allows and the policy is exported before the actor system goes down.
     */
    private RlJob.Summary runLive(ActorSystem<?> system, RecordStore store, RlJob.Config job, Config live,
        PrintWriter err, RlJob.Hooks remote) throws Exception {
      LivePrompts.Settings settings = LivePrompts.Settings.fromConfig(live, true);
      try (LiveInputs inputs = LiveInputs.open(system, out, live, http, err)) {
        err.printf("following %s (checked every %d ms); Ctrl-C stops%n", String.join(", ", job.sources().stream()
            .map(ps -> ps.file().toString()).toList()), settings.pollInterval().toMillis());
        CompletableFuture<LivePrompts.Control> control = new CompletableFuture<>();
        CompletionStage<RlJob.Summary> run = RlJob.run(system, store, job, Optional.of(s -> LivePrompts.source(
                job.sources(), inputs.journal(), s::resumeOffset, settings, bad -> err.println("skipped " + bad.getMessage()))
            .mapMaterializedValue(c -> {
              control.complete(c);
              return c;
            })), p -> progress(p, updates, err, clock), remote);
        CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "stop-rl-prompt-feed", () -> {
          control.thenAccept(LivePrompts.Control::stop);
          return run.handle((summary, e) -> Done.getInstance());
        });
        return run.toCompletableFuture().get();
      }
    }

    /** Reads every setting this command uses as it would; throws on a bad one. */
    static void check(Config conf) {
      RlSettings rl = RlSettings.fromConfig(conf.getConfig("cai.rl"));
      BatchingSettings.fromConfig(conf.getConfig("cai.batching"));
      PmRefresher.Settings.fromConfig(conf.getConfig("cai.rl.continual"), rl.seed());
      LabelCommand.check(conf);
    }

    /**
     * Continual RLAIF when {@code cai.rl.continual.every} (after --continual-every) is above 0: the labeler (default: the
     * SL checkpoint), the constitution, {@code cai.label}'s labeling settings, refreshed PMs in RUN_DIR/pm-refresh.
     */
    static Optional<RlJob.Continual> continual(Config conf, RlSettings rl, Path slCheckpoint, String feedbackModel,
        Path constitution, Path out) {
      PmRefresher.Settings refresh = PmRefresher.Settings.fromConfig(conf.getConfig("cai.rl.continual"), rl.seed());
      if (!refresh.enabled()) {
        return Optional.empty();
      }
      Config lc = conf.getConfig("cai.label");
      return Optional.of(new RlJob.Continual(
          feedbackModel != null ? ModelSpec.parse(feedbackModel) : ModelSpec.local(slCheckpoint),
          constitution == null ? ConstitutionLoader.loadDefault() : ConstitutionLoader.load(constitution),
          LabelCommand.graph(lc, null, null, 0, null, null, null, null, 0),
          GenerationSettings.greedy(lc.getInt("reasoning-max-new-tokens")),
          RemoteSettings.fromConfig(conf.getConfig("cai.remote")), refresh, out.resolve("pm-refresh")));
    }

    /** The configuration with the command's options applied over cai.rl. */
    private Config overridden(Config conf) {
      Config c = conf;
      if (batchSize != null) {
        c = c.withValue("cai.rl.batch-size", ConfigValueFactory.fromAnyRef(batchSize));
      }
      if (maxStaleness != null) {
        c = c.withValue("cai.rl.max-staleness", ConfigValueFactory.fromAnyRef(maxStaleness));
      }
      if (criticInit != null) {
        c = c.withValue("cai.rl.critic-init", ConfigValueFactory.fromAnyRef(criticInit));
      }
      if (seed != null) {
        c = c.withValue("cai.rl.seed", ConfigValueFactory.fromAnyRef(seed));
      }
      if (continualEvery != null) {
        c = c.withValue("cai.rl.continual.every", ConfigValueFactory.fromAnyRef(continualEvery));
      }
      return c;
    }
  }

  /** One line per update: version, score, KL, β, staleness histogram, time, and whether it was replayed. */
  /** Shows one update: a progress line, and the learner meters. */
  static void progress(RlJob.Progress p, Long target, PrintWriter err, UpdateClock clock) {
    AppMeters.learned(p.learned());
    err.println(progressLine(p, target) + clock.rateAndEta(p.learned().version(), target));
  }

  /** Updates per second since the run started (from the version it started at), and the ETA to the target. */
  static final class UpdateClock {
    private final long start = System.nanoTime();
    private long firstVersion = -1;

    String rateAndEta(long version, Long target) {
      if (firstVersion < 0) {
        firstVersion = version - 1; // the version before this run's first update
      }
      double secs = (System.nanoTime() - start) / 1e9;
      long done = version - firstVersion;
      return String.format(Locale.ROOT, "  %.3f updates/s", done / secs)
          + (target == null ? "" : ProgressLine.eta(done, target - firstVersion, secs));
    }
  }

  static String progressLine(RlJob.Progress p, Long target) {
    UpdateStats s = p.learned().stats().orElseThrow();
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
        "update %d%s  score %+.3f  KL %.4f  beta %.4f  staleness %s  rollouts %d  len %.1f  eos %.2f  %.1f s",
        s.version(), target == null ? "" : "/" + target, s.meanScore(), s.kl(), s.klCoef(),
        RlMetrics.staleness(s.staleness()), s.rollouts(), s.meanResponseLength(), s.eosRate(), s.millis() / 1000.0));
    p.learned().commit().ifPresent(c -> sb.append(String.format(Locale.ROOT, "  committed v%d in %d ms", c.version(),
        c.millis())));
    if (p.replayed()) {
      sb.append("  (replayed)");
    }
    return sb.toString();
  }

  /** Count, mean and max time of the learner commits. */
  static String commits(List<LearnerActor.Committed> commits) {
    if (commits.isEmpty()) {
      return "none this run";
    }
    long max = commits.stream().mapToLong(LearnerActor.Committed::millis).max().orElse(0);
    double mean = commits.stream().mapToLong(LearnerActor.Committed::millis).average().orElse(0);
    long bytes = commits.stream().mapToLong(LearnerActor.Committed::bytes).sum();
    return String.format(Locale.ROOT, "%d learner commits (last at version %d), %.0f ms mean, %d ms max, %.1f MiB of tensors",
        commits.size(), commits.get(commits.size() - 1).version(), mean, max, bytes / 1048576.0);
  }
}
