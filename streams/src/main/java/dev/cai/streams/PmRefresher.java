package dev.cai.streams;

import com.typesafe.config.Config;
import dev.cai.actors.BatchModel.Outcome;
import dev.cai.actors.BatchingSettings;
import dev.cai.actors.ModelActor;
import dev.cai.actors.ModelLoading;
import dev.cai.actors.ScoreRequest;
import dev.cai.actors.WholeBatches;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.protocol.v1.Comparison;
import dev.cai.protocol.v1.Prompt;
import dev.cai.runtime.constitution.Constitution;
import dev.cai.runtime.constitution.LabelingPrompts;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.io.CheckpointStore;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.train.PreferenceData;
import dev.cai.runtime.train.PreferenceRefresh;
import dev.cai.runtime.train.TrainingRun;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continual RLAIF (the PM follows the policy): batch {@code r·every − 1} of a run pairs its first prompts with second
 * samples and the feedback model labels them ({@link RolloutGraph}); once that batch is committed, refresh {@code r}
 * trains PM version {@code r} from version {@code r − 1} on every comparison of the run committed so far
 * ({@link PreferenceRefresh}), and version {@code r} scores batches {@code r·every} and later. Version 0 is the run's
 * own PM.
 *
 * <p>Refreshes run in order, on the blocking dispatcher, beside sampling and learning; a batch that needs a version
 * waits for it. Which version scores a batch depends only on its index, and a refresh only on the stored comparisons
 * and the previous version, so a resumed run retrains an unfinished refresh into the same model. One preference actor
 * is alive at a time: serving version {@code r} stops the actor of the version before.
 */
public final class PmRefresher implements RolloutGraph.Continual {
  private static final Logger LOG = LoggerFactory.getLogger(PmRefresher.class);

  /**
   * Settings ({@code cai.rl.continual}).
   *
   * @param every rollout batches between refreshes (0: off)
   * @param pairs prompts of a refresh batch sampled twice and labeled
   * @param training how a refresh trains; its seed is the run's (refresh r trains with seed + r, and seeds the labels)
   * @param maxLength longest sequence of a training pair
   * @param keep refreshed PM directories kept
   */
  public record Settings(int every, int pairs, TrainingRun.Settings training, int maxLength, int keep) {
    public Settings {
      if (every < 0 || pairs < 1 || maxLength < 1 || keep < 1) {
        throw new IllegalArgumentException("cai.rl.continual: every must be >= 0, pairs, max-length and keep >= 1; got "
            + every + ", " + pairs + ", " + maxLength + ", " + keep);
      }
    }

    /** Whether the PM is refreshed at all. */
    public boolean enabled() {
      return every > 0;
    }

    /** Reads a block shaped like {@code cai.rl.continual}; {@code seed} is the run's. */
    public static Settings fromConfig(Config c, long seed) {
      TrainingRun.Settings training;
      try {
        training = new TrainingRun.Settings(c.getInt("epochs"), c.getInt("batch-size"), c.getInt("micro-batch-size"),
            c.getDouble("learning-rate"), c.getInt("warmup-steps"), 0.0, 1.0, Integer.MAX_VALUE, seed);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("cai.rl.continual: " + e.getMessage(), e);
      }
      return new Settings(c.getInt("every"), c.getInt("pairs"), training, c.getInt("max-length"), c.getInt("keep"));
    }
  }

  /** How comparisons are labeled: the constitution, the feedback model and {@code cai.label}'s labeling settings. */
  public record Labeler(Constitution constitution, LabelGraph.Models models, LabelGraph.Settings settings) {}

  /** The PM version that scores batch {@code k}: the refreshes finished before it. */
  public static long version(long k, int every) {
    return every <= 0 ? 0 : k / every;
  }

  /** Whether batch {@code k} pairs and labels its prompts: the last batch before a refresh. */
  public static boolean pairsBatch(long k, int every) {
    return every > 0 && (k + 1) % every == 0;
  }

  /** Where refresh {@code version} writes its PM ({@code model} under it). */
  public static Path dir(Path root, long version) {
    return root.resolve(String.format(Locale.ROOT, "v%04d", version));
  }

  private final ActorSystem<?> system;
  private final RecordStore store;
  private final Path basePm;
  private final Path root;
  private final Settings settings;
  private final Labeler labeler;
  private final LabelingPrompts prompts;
  private final BatchingSettings batching;
  private final DeviceSetting device;
  private final Executor io;
  private final Map<Long, CompletableFuture<Void>> pairsCommitted = new HashMap<>();
  private final Map<Long, CompletableFuture<Path>> trained = new HashMap<>();
  private final TreeMap<Long, CompletableFuture<ActorRef<ModelActor.Command<List<ScoreRequest>, List<Outcome<Double>>>>>> served =
      new TreeMap<>();

  /**
   * A refresher for the run of {@code store}, whose own PM is {@code basePm}, served by {@code basePreference} (stopped
   * once version 1 is served); refreshed PMs go under {@code root}.
   * Refreshes whose pairs the store holds already (a resumed run) may start as soon as a batch needs them.
   */
  public PmRefresher(ActorSystem<?> system, RecordStore store, Path basePm,
      ActorRef<ModelActor.Command<List<ScoreRequest>, List<Outcome<Double>>>> basePreference, Path root,
      Settings settings, Labeler labeler, BatchingSettings batching, DeviceSetting device) {
    if (!settings.enabled()) {
      throw new IllegalArgumentException("continual RLAIF is off (cai.rl.continual.every = 0)");
    }
    this.system = system;
    this.store = store;
    this.basePm = basePm;
    this.root = root;
    this.settings = settings;
    this.labeler = labeler;
    this.prompts = new LabelingPrompts(labeler.constitution(), labeler.settings().fewShot(),
        labeler.settings().chainOfThought());
    this.batching = batching;
    this.device = device;
    this.io = system.dispatchers().lookup(DispatcherSelector.blocking());
    served.put(0L, CompletableFuture.completedFuture(basePreference));
    long committedBatches = store.resumeOffset(RolloutGraph.BATCHES);
    for (long v = 1; v * settings.every() <= committedBatches; v++) {
      pairsCommitted(v).complete(null);
    }
  }

  @Override
  public int pairs(long k) {
    return pairsBatch(k, settings.every()) ? settings.pairs() : 0;
  }

  @Override
  public long pmVersion(long k) {
    return version(k, settings.every());
  }

  @Override
  public synchronized CompletionStage<ActorRef<ModelActor.Command<List<ScoreRequest>, List<Outcome<Double>>>>> preference(
      long k) {
    return served(pmVersion(k));
  }

  @Override
  public CompletionStage<Comparison> label(Prompt prompt, Transcript conversation, String a, String b, long k, int index) {
    SplittableRandom rng = new SplittableRandom(settings.training().seed() ^ (0x9E3779B97F4A7C15L * (k + 1))
        ^ (0xBF58476D1CE4E5B9L * (index + 1)));
    return LabelGraph.labelPair(prompt, conversation, a, b,
        LabelGraph.principles(labeler.constitution(), labeler.settings(), rng), rng, labeler.constitution(), prompts,
        labeler.models(), labeler.settings(), true);
  }

  @Override
  public synchronized void committed(long k) {
    if (pairsBatch(k, settings.every())) {
      long v = version(k + 1, settings.every());
      pairsCommitted(v).complete(null);
      served(v); // start the refresh now, beside the sampling of the next batch
    }
  }

  /**
   * Completes when every refresh started so far has ended (trained or failed): a job waits for it before it ends, so
   * that no refresh is cut off by the end of the actor system.
   */
  public synchronized CompletionStage<Void> idle() {
    return CompletableFuture.allOf(trained.values().toArray(CompletableFuture[]::new)).handle((x, e) -> null);
  }

  private CompletableFuture<Void> pairsCommitted(long v) {
    return pairsCommitted.computeIfAbsent(v, x -> new CompletableFuture<>());
  }

  /** The actor serving version {@code v}; starting it stops the actors of older versions. */
  private CompletableFuture<ActorRef<ModelActor.Command<List<ScoreRequest>, List<Outcome<Double>>>>> served(long v) {
    CompletableFuture<ActorRef<ModelActor.Command<List<ScoreRequest>, List<Outcome<Double>>>>> actor = served.get(v);
    if (actor != null) {
      return actor;
    }
    actor = trained(v).thenApply(dir -> {
      ActorRef<ModelActor.Command<List<ScoreRequest>, List<Outcome<Double>>>> ref = system.systemActorOf(
          ModelActor.<List<ScoreRequest>, List<Outcome<Double>>>create("preference",
              () -> new WholeBatches<>(ModelLoading.preference(dir, device)), batching),
          "preference-v" + v + "-" + System.nanoTime(), Props.empty());
      stopOlderThan(v);
      return ref;
    });
    served.put(v, actor);
    return actor;
  }

  private synchronized void stopOlderThan(long v) {
    for (var older : served.headMap(v).values()) {
      older.thenAccept(ref -> ref.tell(new ModelActor.Stop<>()));
    }
    served.headMap(v).clear();
  }

  /**
   * PM version {@code v}'s directory, once trained: at once for version 0 and for a finished refresh (whose older
   * versions, maybe pruned, are not needed then), else after version {@code v − 1} and the pairs of refresh {@code v}.
   */
  private synchronized CompletableFuture<Path> trained(long v) {
    if (v == 0) {
      return CompletableFuture.completedFuture(basePm);
    }
    CompletableFuture<Path> done = trained.get(v);
    if (done == null && PreferenceRefresh.isComplete(dir(root, v))) {
      done = CompletableFuture.completedFuture(PreferenceRefresh.model(dir(root, v)));
      trained.put(v, done);
    } else if (done == null) {
      done = trained(v - 1).thenCombine(pairsCommitted(v), (previous, x) -> previous)
          .thenApplyAsync(previous -> refresh(v, previous), io);
      trained.put(v, done);
    }
    return done;
  }

  /** Refresh {@code v}: trains on the run's comparisons of batches before {@code v·every}, from {@code previous}. */
  private Path refresh(long v, Path previous) {
    Path out = dir(root, v);
    long end = v * settings.every();
    List<PreferenceData.Example> all = new ArrayList<>();
    List<PreferenceData.Example> latest = new ArrayList<>();
    store.forEach(RecordKind.COMPARISONS, 0, s -> {
      Comparison c = s.record();
      if (c.getRlBatchIndex() < end) {
        PreferenceData.Example e = LabelExport.example(c);
        all.add(e);
        if (c.getRlBatchIndex() == end - 1) {
          latest.add(e);
        }
      }
    });
    if (latest.isEmpty()) {
      LOG.warn("continual RLAIF: no comparison was labeled in batch {}; PM version {} is version {}", end - 1,
          v, v - 1);
      return previous;
    }
    long t0 = System.nanoTime();
    TrainingRun.Settings s = settings.training().withSeed(settings.training().seed() + v);
    PreferenceRefresh.Result r = PreferenceRefresh.run(previous, all, latest, out, s, settings.maxLength(), device,
        step -> { });
    LOG.info("continual RLAIF: PM version {} trained on {} comparisons ({} new, {} too long) in {} steps, loss "
            + "{} -> {}, normalised on {} samples (raw mean {}, std {}), {} s: {}", v, r.pairs(), latest.size(),
        r.skipped(), r.training().steps(), String.format(Locale.ROOT, "%.4f", r.training().firstLoss()),
        String.format(Locale.ROOT, "%.4f", r.training().lastLoss()), 2 * latest.size(),
        String.format(Locale.ROOT, "%.4f", r.normalization().get("raw_mean").getAsDouble()),
        String.format(Locale.ROOT, "%.4f", r.normalization().get("raw_std").getAsDouble()),
        String.format(Locale.ROOT, "%.1f", (System.nanoTime() - t0) / 1e9), r.model());
    prune(v);
    return r.model();
  }

  /** Deletes refreshed PMs older than the newest {@code keep} (the one just trained included). */
  private void prune(long newest) {
    for (long old = newest - settings.keep(); old >= 1; old--) {
      Path dir = dir(root, old);
      try {
        CheckpointStore.deleteTree(dir);
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot delete the old refreshed PM " + dir + ": " + e.getMessage(), e);
      }
    }
  }
}
