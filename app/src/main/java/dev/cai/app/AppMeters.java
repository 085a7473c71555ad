package dev.cai.app;

import dev.cai.actors.LearnerActor;
import dev.cai.persistence.RecordStore;
import dev.cai.runtime.ppo.UpdateStats;
import dev.cai.runtime.train.Trainer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The meters of the app's commands on the global registry: the PPO learner ({@code cai_learner_*}), supervised training
 * steps ({@code cai_train_*{stage}}) and store commits ({@code cai_store_commit_*{store}}). Stage and model-actor meters
 * live with their graphs and actors ({@link dev.cai.streams.StageMeter}, {@link dev.cai.actors.ModelMeters}).
 */
final class AppMeters {
  private AppMeters() {}

  /** The last update's statistics, read by the learner gauges; empty before the first update of this process. */
  private static volatile Optional<UpdateStats> lastUpdate = Optional.empty();
  private static final Learner LEARNER = new Learner(Metrics.globalRegistry);
  private static final Map<String, Training> TRAINING = new LinkedHashMap<>();
  private static final Map<String, Store> STORES = new LinkedHashMap<>();
  /** Most points kept per curve for a dashboard that connects late (older ones are dropped). */
  static final int HISTORY_LIMIT = 5000;
  private static final java.util.ArrayDeque<LearnerPoint> LEARNER_HISTORY = new java.util.ArrayDeque<>();
  private static final Map<String, java.util.ArrayDeque<TrainPoint>> TRAINING_HISTORY = new LinkedHashMap<>();

  /** One PPO update of the learner curve: policy version, mean score, KL. */
  record LearnerPoint(long policyVersion, double score, double kl) {}

  /** One optimizer step of a supervised training curve. */
  record TrainPoint(String stage, long step, double loss) {}

  /** PPO learner meters: an update counter and timer, and gauges of the last update's diagnostics. */
  private static final class Learner {
    final Counter updates;
    final Timer updateTime;

    Learner(MeterRegistry r) {
      updates = Counter.builder("cai.learner.updates").description("PPO updates applied").register(r);
      updateTime = Timer.builder("cai.learner.update").description("time of one PPO update (all epochs)")
          .serviceLevelObjectives(dev.cai.actors.ModelMeters.LATENCY_BUCKETS).register(r);
      gauge(r, "cai.learner.policy.version", "policy version after the last update", UpdateStats::version);
      gauge(r, "cai.learner.score", "mean PM score of the last batch", UpdateStats::meanScore);
      gauge(r, "cai.learner.kl", "mean KL(policy || reference) of the last batch", UpdateStats::kl);
      gauge(r, "cai.learner.kl.coef", "KL coefficient beta", UpdateStats::klCoef);
      gauge(r, "cai.learner.approx.kl", "approximate KL between the policy before and after the update",
          UpdateStats::approxKl);
      gauge(r, "cai.learner.clip.fraction", "fraction of tokens whose ratio was clipped", UpdateStats::clipFraction);
      gauge(r, "cai.learner.entropy", "mean policy entropy per token", UpdateStats::entropy);
      gauge(r, "cai.learner.policy.loss", "clipped surrogate loss", UpdateStats::policyLoss);
      gauge(r, "cai.learner.value.loss", "value loss", UpdateStats::valueLoss);
      gauge(r, "cai.learner.staleness", "mean staleness of the last batch, in versions", AppMeters::meanStaleness);
    }

    private static void gauge(MeterRegistry r, String name, String description, ToDoubleFunction<UpdateStats> f) {
      Gauge.builder(name, () -> lastUpdate.map(f::applyAsDouble).orElse(Double.NaN)).description(description)
          .register(r);
    }
  }

  /** Supervised training meters of one stage (sl-train, pm-train). */
  private record Training(String stage, Counter steps, Timer stepTime, double[] loss) {}

  /** Commit meters of one store. */
  private record Store(Timer commitTime, Counter bytes, Counter records) {}

  /** Records one PPO update (a {@link LearnerActor.Learned} with statistics; others are ignored). */
  static void learned(LearnerActor.Learned learned) {
    learned.stats().ifPresent(s -> {
      lastUpdate = Optional.of(s);
      synchronized (LEARNER_HISTORY) {
        LEARNER_HISTORY.addLast(new LearnerPoint(s.version(), s.meanScore(), s.kl()));
        while (LEARNER_HISTORY.size() > HISTORY_LIMIT) {
          LEARNER_HISTORY.removeFirst();
        }
      }
      LEARNER.updates.increment();
      LEARNER.updateTime.record(s.millis(), TimeUnit.MILLISECONDS);
    });
  }

  /** The last update of this process, if any. */
  static Optional<UpdateStats> lastUpdate() {
    return lastUpdate;
  }

  /** The PPO curve of this process so far (at most {@link #HISTORY_LIMIT} latest updates). */
  static List<LearnerPoint> learnerHistory() {
    synchronized (LEARNER_HISTORY) {
      return List.copyOf(LEARNER_HISTORY);
    }
  }

  /** The supervised training curves of this process so far, stage after stage. */
  static List<TrainPoint> trainingHistory() {
    List<TrainPoint> out = new ArrayList<>();
    synchronized (TRAINING_HISTORY) {
      TRAINING_HISTORY.values().forEach(out::addAll);
    }
    return out;
  }

  /** Learner updates so far in this process. */
  static double updates() {
    return LEARNER.updates.count();
  }

  /** Mean update time so far, in milliseconds. */
  static double updateMeanMs() {
    return LEARNER.updateTime.mean(TimeUnit.MILLISECONDS);
  }

  /** Mean of a staleness histogram (versions → rollouts); NaN when empty. */
  static double meanStaleness(UpdateStats s) {
    long n = 0;
    double sum = 0;
    for (Map.Entry<Long, Integer> e : s.staleness().entrySet()) {
      n += e.getValue();
      sum += (double) e.getKey() * e.getValue();
    }
    return n == 0 ? Double.NaN : sum / n;
  }

  /** Records one optimizer step of supervised training {@code stage} that took {@code nanos}. */
  static void trainStep(String stage, Trainer.StepResult step, long nanos) {
    Training t;
    synchronized (TRAINING) {
      t = TRAINING.computeIfAbsent(stage, AppMeters::training);
    }
    t.loss()[0] = step.loss();
    synchronized (TRAINING_HISTORY) {
      java.util.ArrayDeque<TrainPoint> h = TRAINING_HISTORY.computeIfAbsent(stage, k -> new java.util.ArrayDeque<>());
      h.addLast(new TrainPoint(stage, step.step(), step.loss()));
      while (h.size() > HISTORY_LIMIT) {
        h.removeFirst();
      }
    }
    t.steps().increment();
    t.stepTime().record(nanos, TimeUnit.NANOSECONDS);
  }

  /** A step listener that records every step of {@code stage} with the time since the previous one (or since now). */
  static java.util.function.Consumer<Trainer.StepResult> trainSteps(String stage) {
    long[] last = {System.nanoTime()};
    return step -> {
      long now = System.nanoTime();
      trainStep(stage, step, now - last[0]);
      last[0] = now;
    };
  }

  private static Training training(String stage) {
    MeterRegistry r = Metrics.globalRegistry;
    double[] loss = {Double.NaN};
    Gauge.builder("cai.train.loss", loss, l -> l[0]).tag("stage", stage).description("loss of the last step")
        .register(r);
    return new Training(stage,
        Counter.builder("cai.train.steps").tag("stage", stage).description("optimizer steps").register(r),
        Timer.builder("cai.train.step").tag("stage", stage).description("time of one optimizer step").register(r), loss);
  }

  /** One reading of a supervised training stage. */
  record TrainingReading(String stage, double steps, double loss) {}

  /** Every supervised training stage of this process, in the order they started. */
  static List<TrainingReading> training() {
    List<TrainingReading> out = new ArrayList<>();
    synchronized (TRAINING) {
      for (Training t : TRAINING.values()) {
        out.add(new TrainingReading(t.stage(), t.steps().count(), t.loss()[0]));
      }
    }
    return out;
  }

  /** Meters every commit of {@code store} as {@code cai_store_commit_*{store=name}}. */
  static void observe(RecordStore store, String name) {
    Store m;
    synchronized (STORES) {
      m = STORES.computeIfAbsent(name, n -> new Store(
          Timer.builder("cai.store.commit").tag("store", n).description("time of one atomic commit")
              .serviceLevelObjectives(dev.cai.actors.ModelMeters.LATENCY_BUCKETS).register(Metrics.globalRegistry),
          Counter.builder("cai.store.commit.bytes").tag("store", n).description("bytes committed (keys and values)")
              .baseUnit("bytes").register(Metrics.globalRegistry),
          Counter.builder("cai.store.commit.records").tag("store", n).description("records appended")
              .register(Metrics.globalRegistry)));
    }
    store.observeCommits((records, bytes, nanos) -> {
      m.commitTime().record(nanos, TimeUnit.NANOSECONDS);
      m.bytes().increment(bytes);
      m.records().increment(records);
    });
  }
}
