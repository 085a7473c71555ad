package dev.cai.streams;

import dev.cai.actors.BatchModel.Outcome;
import dev.cai.actors.LogProbsRequest;
import dev.cai.actors.ModelActor;
import dev.cai.actors.PolicyActor;
import dev.cai.actors.PolicySample;
import dev.cai.actors.PublishedPolicy;
import dev.cai.actors.RolloutSchedule;
import dev.cai.actors.ScoreRequest;
import dev.cai.persistence.Commit;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.persistence.Stored;
import dev.cai.protocol.v1.Comparison;
import dev.cai.protocol.v1.Prompt;
import dev.cai.protocol.v1.Rollout;
import dev.cai.runtime.constitution.CritiquePrompts;
import dev.cai.runtime.constitution.Transcript;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The RL-CAI rollout graph (Bai et al. 2022, §4.2; Ziegler et al. 2019): prompts → batches of {@code batchSize} →
 * the policy samples each batch with exactly the version {@link RolloutSchedule#generatingVersion} requires (after
 * waiting until it is published) → the frozen reference model's per-token log-probs of the samples at the sampling
 * temperature → the preference model's normalised score → {@link Rollout} records, committed to the store together
 * with the prompt offsets they consumed and the batch count {@value #BATCHES} in one atomic commit (exactly once, as
 * in {@link LabelGraph}). Each batch is one ask per model, its members computed together whatever else is queued, so
 * that the same prompts give bit-identical rollouts in a run and in its resumed twin.
 *
 * <p>A prompt that cannot be served (its chat-rendered tokens plus max-new-tokens exceed the policy's context, or
 * the sequence exceeds the reference or preference model's) is skipped and counted, with its reason; a batch left
 * empty consumes its prompts but no batch index. Backpressured end to end: one batch is generated at a time, one
 * committed at a time.
 */
public final class RolloutGraph {
  /** Source name of the committed rollout-batch count (the next batch index). */
  public static final String BATCHES = "rl.batches";

  private RolloutGraph() {}

  /**
   * Settings of the rollout graph.
   *
   * @param batchSize prompts per batch (one PPO update each)
   * @param schedule which policy version generates which batch
   * @param seed derives every prompt's sampling seed, with the prompt's source and line
   * @param temperature sampling temperature recorded on each rollout
   * @param passes passes over the prompt files (0 = as many as the run needs); pass p gives a prompt at line l of a
   *     file of L lines the offset p·L + l, so offsets, seeds and resumption work across passes
   */
  public record Settings(int batchSize, RolloutSchedule schedule, long seed, double temperature, int passes) {
    public Settings {
      if (batchSize < 1) {
        throw new IllegalArgumentException("cai.rl.batch-size must be >= 1, got " + batchSize);
      }
      if (passes < 0) {
        throw new IllegalArgumentException("cai.rl.prompt-passes must be >= 0, got " + passes);
      }
    }
  }

  /**
   * The models a batch visits.
   *
   * @param policy samples the responses (the local policy actors, or the policy workers of a cluster)
   * @param published the learner's published versions: a batch waits until its version is served
   * @param preference the preference model, unless {@code continual} refreshes it
   * @param continual continual RLAIF: pairs of samples labeled, and the preference model refreshed, as the run goes
   */
  public record Models(PolicySampler policy,
      ActorRef<ModelActor.Command<List<LogProbsRequest>, List<Outcome<float[]>>>> reference,
      ActorRef<ModelActor.Command<List<ScoreRequest>, List<Outcome<Double>>>> preference, PublishedPolicy published,
      Duration askTimeout, Optional<Continual> continual) {
    /** Models with one preference model for the whole run. */
    public Models(PolicySampler policy,
        ActorRef<ModelActor.Command<List<LogProbsRequest>, List<Outcome<float[]>>>> reference,
        ActorRef<ModelActor.Command<List<ScoreRequest>, List<Outcome<Double>>>> preference, PublishedPolicy published,
        Duration askTimeout) {
      this(policy, reference, preference, published, askTimeout, Optional.empty());
    }

    /** The preference model that scores batch {@code k}, once it is served. */
    CompletionStage<ActorRef<ModelActor.Command<List<ScoreRequest>, List<Outcome<Double>>>>> preferenceFor(long k) {
      return continual.isPresent() ? continual.get().preference(k) : CompletableFuture.completedFuture(preference);
    }

    /** The version of the preference model that scores batch {@code k} (0: the run's own). */
    long pmVersion(long k) {
      return continual.isPresent() ? continual.get().pmVersion(k) : 0;
    }
  }

  /**
   * Continual RLAIF in the rollout graph: some batches sample their first prompts a second time with the same policy
   * version, and the feedback model labels the two responses; the comparisons are committed with the batch, and the
   * preference model that scores later batches is refreshed on them ({@link PmRefresher}). Which batches, which
   * version scores a batch and the labels depend only on the batch index and the stored comparisons, so a resumed run
   * continues exactly.
   */
  public interface Continual {
    /** How many of batch {@code k}'s prompts are sampled twice and labeled (0 for most batches). */
    int pairs(long k);

    /** The preference model version that scores batch {@code k}. */
    long pmVersion(long k);

    /** The actor serving {@link #pmVersion(long)} of batch {@code k}, once that version is trained and loaded. */
    CompletionStage<ActorRef<ModelActor.Command<List<ScoreRequest>, List<Outcome<Double>>>>> preference(long k);

    /** Labels the pair of responses to {@code prompt} made for batch {@code k}, its {@code index}-th pair. */
    CompletionStage<Comparison> label(Prompt prompt, Transcript conversation, String a, String b, long k, int index);

    /** Batch {@code k} (with its comparisons) is committed. */
    void committed(long k);
  }

  /**
   * One committed batch: its index, the sequence number of its first rollout, its rollouts in prompt order, and the
   * prompts skipped (id: reason). A batch whose prompts were all skipped has no rollouts and index −1.
   */
  public record RolloutBatch(long batchIndex, long firstSequence, List<Rollout> rollouts, List<String> skipped) {
    public RolloutBatch {
      rollouts = List.copyOf(rollouts);
      skipped = List.copyOf(skipped);
    }
  }

  /** The {@code graph} tag of this graph's stage meters (the learner's stage is metered by {@link RlJob}). */
  public static final String GRAPH = "rl";

  /** The learner's stage meter, registered after the graph's own stages (pipeline order on dashboards). */
  static StageMeter learnMeter(Settings s) {
    Meters.of(s);
    return StageMeter.of(GRAPH, "learn", s.batchSize());
  }

  /** The metered stages of the rollout graph, in pipeline order. */
  private record Meters(StageMeter read, StageMeter sample, StageMeter reference, StageMeter preference,
      StageMeter commit) {
    static Meters of(Settings s) {
      int n = s.batchSize();
      return new Meters(StageMeter.of(GRAPH, "read", 1), StageMeter.of(GRAPH, "sample", n),
          StageMeter.of(GRAPH, "reference", n), StageMeter.of(GRAPH, "preference", n), StageMeter.of(GRAPH, "commit", n));
    }
  }

  /** A prompt with its source's position in the run's source list, its offset there and whether it may be committed. */
  private record Sourced(int sourceIndex, String sourceId, long offset, Prompt prompt, boolean durable) {}

  /** A sampled, scored (and maybe labeled) batch before commit; {@code batchIndex} −1 when it came out empty. */
  private record Produced(long batchIndex, List<Sourced> prompts, List<Rollout> rollouts, List<String> skipped,
      List<Comparison> comparisons) {}

  /**
   * Live batches: the prompts of {@code sources} (in order) after their committed offsets, sampled, scored and
   * committed; batch indices continue from the store's {@value #BATCHES} count.
   */
  public static Source<RolloutBatch, NotUsed> live(ActorSystem<?> system, List<PromptSource> sources, RecordStore store,
      Models models, Settings settings) {
    long[] lines = new long[sources.size()];
    long firstPass = Long.MAX_VALUE;
    boolean empty = true;
    for (int i = 0; i < sources.size(); i++) {
      Scan scan = scan(sources.get(i));
      empty &= scan.prompts() == 0;
      lines[i] = Math.max(1, scan.lines());
      firstPass = Math.min(firstPass, store.resumeOffset(sources.get(i).id()) / lines[i]);
    }
    long startPass = firstPass == Long.MAX_VALUE ? 0 : firstPass;
    // cycling files without a single prompt would loop for ever without producing a batch
    long endPass = settings.passes() == 0 && !empty ? Long.MAX_VALUE : Math.max(settings.passes(), 1);
    Source<Sourced, NotUsed> prompts = Source.fromIterator(() -> java.util.stream.LongStream.range(startPass, endPass).iterator())
        .flatMapConcat(pass -> {
          Source<Sourced, NotUsed> inPass = Source.empty();
          for (int i = 0; i < sources.size(); i++) {
            inPass = inPass.concat(pass(sources.get(i), i, lines[i], pass, store.resumeOffset(sources.get(i).id())));
          }
          return inPass;
        });
    return batches(system, prompts, store, models, settings);
  }

  /**
   * Pass {@code pass} over one file of {@code lines} lines, after the committed global offset {@code committed}:
   * nothing if that pass is done, the rest of it if the commit lies inside it, all of it otherwise. Prompts of later
   * passes get the offset pass·lines + line and an id suffixed {@code #pass}.
   */
  private static Source<Sourced, NotUsed> pass(PromptSource ps, int index, long lines, long pass, long committed) {
    long passOfCommit = committed / lines;
    if (pass < passOfCommit) {
      return Source.empty();
    }
    long after = pass == passOfCommit ? committed % lines : 0;
    return Source.unfoldResource(() -> PromptReader.open(ps.file(), after, ps.helpful()),
            r -> r.hasNext() ? Optional.of(r.next()) : Optional.<Prompt>empty(), PromptReader::close)
        .map(p -> new Sourced(index, ps.id(), pass * lines + p.getSourceOffset(),
            pass == 0 ? p : p.toBuilder().setId(p.getId() + "#" + pass).build(), true));
  }

  /** Lines of a prompt file (the offset base of later passes) and how many of them are prompts. */
  private record Scan(long lines, long prompts) {}

  /** One read of a prompt file (validating every line) at the start of a run. */
  private static Scan scan(PromptSource ps) {
    try (PromptReader r = PromptReader.open(ps.file(), 0, ps.helpful())) {
      long prompts = 0;
      for (; r.hasNext(); prompts++) {
        r.next();
      }
      return new Scan(r.line(), prompts);
    }
  }

  /**
   * Live batches from a live prompt feed ({@link LivePrompts}: followed files, the run's prompt journal, prompts offered
   * in memory), in arrival order; {@code sourceIds} fixes each source's position for the sampling seeds (unknown
   * sources, such as the journal, come after them). Offsets of durable prompts are committed with their batch.
   * A batch is sampled once {@code batchSize} prompts have arrived.
   */
  public static <M> Source<RolloutBatch, M> live(ActorSystem<?> system, Source<SourcedPrompt, M> feed,
      List<String> sourceIds, RecordStore store, Models models, Settings settings) {
    Source<Sourced, M> prompts = feed.map(p -> {
      int index = sourceIds.indexOf(p.sourceId());
      return new Sourced(index < 0 ? sourceIds.size() : index, p.sourceId(), p.offset(), p.prompt(), p.durable());
    });
    return batches(system, prompts, store, models, settings);
  }

  private static <M> Source<RolloutBatch, M> batches(ActorSystem<?> system, Source<Sourced, M> prompts,
      RecordStore store, Models models, Settings settings) {
    Executor io = system.dispatchers().lookup(DispatcherSelector.blocking());
    // The next batch index: read and advanced only by the produce stage, one batch at a time (parallelism 1), so
    // a batch's index (hence its policy version) is known before it is sampled and an empty batch takes none.
    AtomicLong nextBatch = new AtomicLong(store.resumeOffset(BATCHES));
    Meters meters = Meters.of(settings);
    return prompts
        .map(p -> {
          meters.read().passed(1, 0);
          return p;
        })
        .grouped(settings.batchSize())
        .mapAsync(1, group -> produce(system, group, nextBatch.get(), models, settings, meters).thenApply(p -> {
          if (p.batchIndex() >= 0) {
            nextBatch.incrementAndGet();
          }
          return p;
        }))
        .mapAsync(1, p -> CompletableFuture.supplyAsync(
            () -> meters.commit().call(p.rollouts().size(), () -> commit(store, p, models)), io));
  }

  /** The batches committed from {@code fromSequence} on (not yet learned), in order, read lazily from the store. */
  public static Source<RolloutBatch, NotUsed> stored(RecordStore store, long fromSequence) {
    return Source.fromIterator(() -> new StoredBatches(store, fromSequence));
  }

  /** Samples, reference-scores and PM-scores one batch; batch index {@code k} when it keeps any rollout. */
  private static CompletionStage<Produced> produce(ActorSystem<?> system, List<Sourced> group, long k, Models models,
      Settings settings, Meters meters) {
    long version = settings.schedule().generatingVersion(k);
    List<String> skipped = new ArrayList<>();
    List<Sourced> members = new ArrayList<>();
    List<Transcript> conversations = new ArrayList<>();
    for (Sourced s : group) {
      try {
        conversations.add(CritiquePrompts.initial(s.prompt().getContext(), s.prompt().getText()));
        members.add(s);
      } catch (IllegalArgumentException e) {
        skipped.add(s.prompt().getId() + ": bad prompt: " + e.getMessage());
      }
    }
    long[] seeds = members.stream().mapToLong(s -> seed(settings.seed(), s)).toArray();
    return models.published().whenServed(version)
        .thenCompose(served -> meters.sample().time(conversations.size(),
            () -> models.policy().sample(conversations, seeds, version), RolloutGraph::responseTokens))
        .thenCompose(samples -> {
          List<Sourced> kept = new ArrayList<>();
          List<Transcript> keptConversations = new ArrayList<>();
          List<PolicySample> keptSamples = new ArrayList<>();
          for (int i = 0; i < samples.size(); i++) {
            if (samples.get(i).isOk()) {
              kept.add(members.get(i));
              keptConversations.add(conversations.get(i));
              keptSamples.add(samples.get(i).value());
            } else {
              skipped.add(members.get(i).prompt().getId() + ": " + samples.get(i).error());
            }
          }
          int pairs = models.continual().isEmpty() ? 0 : Math.min(models.continual().get().pairs(k), kept.size());
          return seconds(kept.subList(0, pairs), keptConversations.subList(0, pairs), version, models, settings, meters)
              .thenCompose(second -> score(system, kept, keptConversations, keptSamples, k, version, models, settings,
                  skipped, meters).thenCompose(rollouts -> (rollouts.isEmpty()
                      ? CompletableFuture.completedFuture(List.<Comparison>of()) // no batch index to record them on
                      : label(system, kept, keptConversations, keptSamples, second, k, version, models))
                      .thenApply(comparisons -> new Produced(rollouts.isEmpty() ? -1 : k, group, rollouts, skipped,
                          comparisons))));
        });
  }

  /**
   * Continual RLAIF: second samples of the first prompts of a batch, by the same version, one ask after the first (so
   * that the batch is computed alone); the seeds differ from the first samples'.
   */
  private static CompletionStage<List<Outcome<PolicySample>>> seconds(List<Sourced> prompts,
      List<Transcript> conversations, long version, Models models, Settings settings, Meters meters) {
    if (prompts.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    long[] seeds = prompts.stream().mapToLong(s -> seed(settings.seed() ^ SECOND_SAMPLE, s)).toArray();
    return meters.sample().time(prompts.size(), () -> models.policy().sample(List.copyOf(conversations), seeds, version),
        RolloutGraph::responseTokens);
  }

  /** Seed salt of the second samples of continual RLAIF. */
  private static final long SECOND_SAMPLE = 0x5DEECE66DL;

  /**
   * Continual RLAIF: the feedback model labels each (first, second) pair of samples, one pair after another; a pair it
   * cannot label is logged and left out. Each comparison records the batch and the policy version that sampled it.
   */
  private static CompletionStage<List<Comparison>> label(ActorSystem<?> system, List<Sourced> kept,
      List<Transcript> conversations, List<PolicySample> firsts, List<Outcome<PolicySample>> seconds, long k,
      long version, Models models) {
    CompletionStage<List<Comparison>> out = CompletableFuture.completedFuture(new ArrayList<>());
    for (int i = 0; i < seconds.size(); i++) {
      Prompt prompt = kept.get(i).prompt();
      if (!seconds.get(i).isOk()) {
        system.log().warn("continual RLAIF: no pair for {}: {}", prompt.getId(), seconds.get(i).error());
        continue;
      }
      int index = i;
      String a = firsts.get(i).text();
      String b = seconds.get(i).value().text();
      out = out.thenCompose(done -> models.continual().get().label(prompt, conversations.get(index), a, b, k, index)
          .handle((c, err) -> {
            if (err != null) {
              system.log().warn("continual RLAIF: pair of {} not labeled: {}", prompt.getId(), err.getMessage());
            } else {
              done.add(c.toBuilder().setRlBatchIndex(k).setPolicyVersion(version).build());
            }
            return done;
          }));
    }
    return out;
  }

  /** Reference log-probs and PM scores of the kept samples (one ask each), then the rollout records. */
  private static CompletionStage<List<Rollout>> score(ActorSystem<?> system, List<Sourced> kept,
      List<Transcript> conversations, List<PolicySample> samples, long k, long version, Models models,
      Settings settings, List<String> skipped, Meters meters) {
    if (kept.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    List<LogProbsRequest> refRequests = samples.stream()
        .map(s -> new LogProbsRequest(s.promptIds(), s.responseIds())).toList();
    List<ScoreRequest> pmRequests = new ArrayList<>();
    for (int i = 0; i < samples.size(); i++) {
      pmRequests.add(new ScoreRequest(conversations.get(i), samples.get(i).text()));
    }
    CompletionStage<List<Outcome<float[]>>> ref = meters.reference().time(refRequests.size(),
        () -> AskPattern.askWithStatus(models.reference(), replyTo -> new ModelActor.Submit<>(refRequests, replyTo),
            models.askTimeout(), system.scheduler()), r -> 0);
    CompletionStage<List<Outcome<Double>>> pm = meters.preference().time(pmRequests.size(),
        () -> models.preferenceFor(k).thenCompose(preference -> AskPattern.askWithStatus(preference,
            replyTo -> new ModelActor.Submit<>(pmRequests, replyTo), models.askTimeout(), system.scheduler())), r -> 0);
    long pmVersion = models.pmVersion(k);
    return ref.thenCombine(pm, (refs, scores) -> {
      long now = System.currentTimeMillis();
      List<Rollout> rollouts = new ArrayList<>();
      for (int i = 0; i < samples.size(); i++) {
        String id = kept.get(i).prompt().getId();
        if (!refs.get(i).isOk()) {
          skipped.add(id + ": reference model: " + refs.get(i).error());
        } else if (!scores.get(i).isOk()) {
          skipped.add(id + ": preference model: " + scores.get(i).error());
        } else {
          rollouts.add(rollout(id, samples.get(i), refs.get(i).value(), scores.get(i).value(), version, pmVersion, k,
              settings.temperature(), now));
          publish(kept.get(i).prompt(), samples.get(i), scores.get(i).value(), version);
        }
      }
      return rollouts;
    });
  }

  /** Response tokens of the samples that succeeded. */
  private static long responseTokens(List<Outcome<PolicySample>> outcomes) {
    long n = 0;
    for (Outcome<PolicySample> o : outcomes) {
      n += o.isOk() ? o.value().responseIds().length : 0;
    }
    return n;
  }

  /** Shows a scored rollout on the live feed: prompt, response, PM score and the policy version that sampled it. */
  private static void publish(Prompt prompt, PolicySample sample, double score, long version) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("prompt", prompt.getText());
    fields.put("response", sample.text());
    fields.put("score", score);
    fields.put("policyVersion", version);
    SampleFeed.global().publish(SampleFeed.RL, fields);
  }

  /** The record of one sample (values are left to the learner, which computes them itself). */
  static Rollout rollout(String promptId, PolicySample s, float[] refLogprobs, double score, long version, long pmVersion,
      long batch, double temperature, long now) {
    if (refLogprobs.length != s.responseIds().length) {
      throw new IllegalStateException("reference model returned " + refLogprobs.length + " log-probs for the "
          + s.responseIds().length + " response tokens of " + promptId);
    }
    Rollout.Builder b = Rollout.newBuilder().setPromptId(promptId).setScore((float) score).setPolicyVersion(version)
        .setPmVersion(pmVersion)
        .setEndedWithEos(s.endedWithEos()).setTemperature((float) temperature).setCreatedAtMs(now).setBatchIndex(batch);
    for (int id : s.promptIds()) {
      b.addPromptTokenIds(id);
    }
    for (int id : s.responseIds()) {
      b.addResponseTokenIds(id);
    }
    for (float lp : s.logProbs()) {
      b.addSampledLogprobs(lp);
    }
    for (float lp : refLogprobs) {
      b.addReferenceLogprobs(lp);
    }
    return b.build();
  }

  /** The sampling seed of a prompt: from the run seed, the source's position and the prompt's line. */
  static long seed(long seed, int sourceIndex, long offset) {
    return new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (offset + 1)) ^ (0xC2B2AE3D27D4EB4FL * (sourceIndex + 1)))
        .nextLong();
  }

  private static long seed(long seed, Sourced s) {
    return seed(seed, s.sourceIndex(), s.offset());
  }

  /**
   * Writes a batch's rollouts, its comparisons (continual RLAIF), the prompt offsets it consumed and the new batch
   * count in one atomic commit.
   */
  private static RolloutBatch commit(RecordStore store, Produced p, Models models) {
    Commit commit = new Commit().appendAll(RecordKind.ROLLOUTS, p.rollouts()).appendAll(RecordKind.COMPARISONS,
        p.comparisons());
    Map<String, Long> offsets = new LinkedHashMap<>();
    for (Sourced s : p.prompts()) {
      if (!s.durable()) {
        continue; // offered in memory: its offset numbers this process's submissions only
      }
      offsets.merge(s.sourceId(), s.offset(), Math::max);
    }
    offsets.forEach(commit::offset);
    if (p.batchIndex() >= 0) {
      commit.offset(BATCHES, p.batchIndex() + 1);
    }
    List<Long> sequences = store.commit(commit);
    if (p.batchIndex() >= 0) {
      models.continual().ifPresent(c -> c.committed(p.batchIndex()));
    }
    return new RolloutBatch(p.batchIndex(), p.rollouts().isEmpty() ? -1 : sequences.get(0), p.rollouts(), p.skipped());
  }

  /** Stored rollouts grouped into their batches, read a page at a time. */
  private static final class StoredBatches implements Iterator<RolloutBatch> {
    private static final int PAGE = 256;
    private final RecordStore store;
    private long next;
    private final List<Stored<Rollout>> buffer = new ArrayList<>();
    private boolean exhausted;
    private long lastBatch = -1;

    StoredBatches(RecordStore store, long from) {
      this.store = store;
      this.next = from;
    }

    @Override
    public boolean hasNext() {
      fill();
      return !buffer.isEmpty();
    }

    @Override
    public RolloutBatch next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      long batch = buffer.get(0).record().getBatchIndex();
      long first = buffer.get(0).sequence();
      if (lastBatch >= 0 && batch != lastBatch + 1) {
        throw new IllegalStateException(store.location() + ": stored rollout #" + first + " is of batch " + batch
            + " but batch " + (lastBatch + 1) + " comes next");
      }
      List<Rollout> rollouts = new ArrayList<>();
      while (true) {
        fill();
        if (buffer.isEmpty() || buffer.get(0).record().getBatchIndex() != batch) {
          break;
        }
        rollouts.add(buffer.remove(0).record());
      }
      lastBatch = batch;
      return new RolloutBatch(batch, first, rollouts, List.of());
    }

    private void fill() {
      if (buffer.isEmpty() && !exhausted) {
        List<Stored<Rollout>> page = store.read(RecordKind.ROLLOUTS, next, PAGE);
        buffer.addAll(page);
        next += page.size();
        exhausted = page.size() < PAGE;
      }
    }
  }
}
