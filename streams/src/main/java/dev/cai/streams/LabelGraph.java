package dev.cai.streams;

import dev.cai.actors.Completion;
import dev.cai.actors.OptionScores;
import dev.cai.persistence.Commit;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.protocol.v1.Comparison;
import dev.cai.protocol.v1.Prompt;
import dev.cai.runtime.Failures;
import dev.cai.runtime.constitution.Constitution.Principle;
import dev.cai.runtime.constitution.Constitution;
import dev.cai.runtime.constitution.CritiquePrompts;
import dev.cai.runtime.constitution.LabelingPrompts;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.ppo.SoftLabels;
import dev.cai.runtime.tokenizer.ChatTemplate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The RL-CAI labeling graph (Bai et al. 2022, §4.1): prompts → two sampled responses → a multiple-choice
 * question under a principle drawn at random (seeded) per comparison → the feedback model's normalised
 * probabilities of (A)/(B) as a soft label → {@link Comparison} → RocksDB, committed with the offsets it
 * consumed (exact resume, as in {@link SlGraph}). Position-bias correction scores both orders and averages;
 * principle ensembling averages k principles; chain-of-thought lets the feedback model reason first and
 * clamps the label. A prompt that fails is counted and skipped (its offset is still consumed); the run goes on.
 */
public final class LabelGraph {
  private LabelGraph() {}

  /**
   * Settings of one labeling run.
   *
   * @param debias score both option orders and average (position-bias correction)
   * @param ensemble principles per comparison, averaged (1 = none)
   * @param chainOfThought reason before answering; the label is clamped into [clampLow, clampHigh]
   * @param fewShot show the constitution's labeling demonstrations
   * @param policyVersion policy version recorded on every comparison
   */
  public record Settings(int parallelism, int commitEvery, Duration commitInterval, long seed, long limit, boolean debias,
      int ensemble, boolean chainOfThought, double clampLow, double clampHigh, boolean fewShot, long policyVersion) {
    public Settings {
      if (parallelism < 1 || commitEvery < 1 || limit < 0 || ensemble < 1) {
        throw new IllegalArgumentException("label settings need parallelism, commitEvery, ensemble >= 1 and limit >= 0");
      }
      SoftLabels.clamp(0.5, clampLow, clampHigh); // validates the bounds
    }
  }

  /**
   * The models: the policy samples the two responses, the feedback model scores (and, in chain-of-thought
   * mode, reasons with {@code feedbackReasoner}); {@code feedbackTemplate} is the feedback model's chat format.
   */
  public record Models(Responder policy, String policyModelId, OptionScorer feedback, Responder feedbackReasoner,
      ChatTemplate feedbackTemplate, String feedbackModelId) {}

  /** Totals of one run (this process only). */
  public record Summary(long comparisons, long failed, double meanConfidence) {
    static final Summary ZERO = new Summary(0, 0, 0);
  }

  /** The {@code graph} tag of this graph's stage meters. */
  public static final String GRAPH = "label";

  private record Labeled(String source, Prompt prompt, Optional<Comparison> comparison, String failure) {}

  public static CompletionStage<Summary> run(ActorSystem<?> system, List<PromptSource> sources, RecordStore store,
      Constitution constitution, Models unmetered, Settings settings, Consumer<Summary> progress) {
    Executor io = system.dispatchers().lookup(DispatcherSelector.blocking());
    int par = settings.parallelism();
    StageMeter read = StageMeter.of(GRAPH, "read", 1);
    StageMeter perPrompt = StageMeter.of(GRAPH, "prompt", par);
    // two samples per prompt; each principle scores one or two orders (and reasons first with chain-of-thought)
    StageMeter sample = StageMeter.of(GRAPH, "sample", 2 * par);
    StageMeter reason = unmetered.feedbackReasoner() == null ? null
        : StageMeter.of(GRAPH, "reason", 2 * par * settings.ensemble());
    StageMeter feedback = StageMeter.of(GRAPH, "feedback", 2 * par * settings.ensemble());
    StageMeter commitMeter = StageMeter.of(GRAPH, "commit", 1);
    Models models = new Models(unmetered.policy().metered(sample), unmetered.policyModelId(),
        unmetered.feedback().metered(feedback),
        reason == null ? null : unmetered.feedbackReasoner().metered(reason), unmetered.feedbackTemplate(),
        unmetered.feedbackModelId());
    LabelingPrompts prompts = new LabelingPrompts(constitution, settings.fewShot(), settings.chainOfThought());
    Source<Labeled, ?> all = Source.empty();
    for (PromptSource ps : sources) {
      long from = store.resumeOffset(ps.id());
      Source<Prompt, ?> src = Source.unfoldResource(() -> PromptReader.open(ps.file(), from, ps.helpful()),
          r -> r.hasNext() ? Optional.of(r.next()) : Optional.empty(), PromptReader::close);
      if (settings.limit() > 0) {
        src = src.takeWhile(p -> p.getSourceOffset() <= settings.limit());
      }
      all = all.concat(src.map(p -> {
        read.passed(1, 0);
        return p;
      }).mapAsync(par, p -> perPrompt.time(1, () -> label(ps, p, constitution, prompts, models, settings), l -> 0)));
    }
    long[] totals = new long[2];
    double[] confidence = {0};
    return all
        .groupedWithin(settings.commitEvery(), settings.commitInterval())
        .mapAsync(1, group -> CompletableFuture.supplyAsync(() -> commitMeter.call(group.size(), () -> commit(store, group)),
            io))
        .runFold(Summary.ZERO, (acc, group) -> {
          for (Labeled l : group) {
            if (l.comparison().isPresent()) {
              totals[0]++;
              confidence[0] += Math.abs(l.comparison().get().getPA() - 0.5) * 2;
            } else {
              totals[1]++;
            }
          }
          Summary s = new Summary(totals[0], totals[1], totals[0] == 0 ? 0 : confidence[0] / totals[0]);
          progress.accept(s);
          return s;
        }, system);
  }

  /** Samples the pair and labels it; never fails (a failure becomes a skipped prompt with its reason). */
  private static CompletionStage<Labeled> label(PromptSource ps, Prompt prompt, Constitution constitution,
      LabelingPrompts prompts, Models models, Settings settings) {
    SplittableRandom rng = PromptSource.promptRng(settings.seed(), 0xC2B2AE3D27D4EB4FL, ps.id(), prompt.getSourceOffset());
    Transcript conversation = CritiquePrompts.initial(prompt.getContext(), prompt.getText());
    List<Principle> principles = principles(constitution, settings, rng);
    long seedA = rng.nextLong();
    long seedB = rng.nextLong();
    CompletionStage<Completion> a = models.policy().respond(conversation, seedA);
    CompletionStage<Completion> b = models.policy().respond(conversation, seedB);
    return a.thenCombine(b, (ra, rb) -> new String[] {ra.text().strip(), rb.text().strip()})
        .thenCompose(pair -> labelPair(prompt, conversation, pair[0], pair[1], principles, rng, constitution, prompts,
            models, settings, false))
        .handle((c, err) -> err == null
            ? new Labeled(ps.id(), prompt, Optional.of(c), null)
            : new Labeled(ps.id(), prompt, Optional.empty(), Failures.describe(err)));
  }

  /** The {@code settings.ensemble()} principles of one comparison, drawn from {@code rng}. */
  public static List<Principle> principles(Constitution constitution, Settings settings, SplittableRandom rng) {
    List<Principle> principles = new ArrayList<>();
    for (int k = 0; k < settings.ensemble(); k++) {
      principles.add(constitution.principles().get(rng.nextInt(constitution.principles().size())));
    }
    return principles;
  }

  /**
   * Labels a pair sampled already: the feedback model's soft label p(A) under {@code principles} (both orders when
   * debiased, reasoning first with chain-of-thought, seeded from {@code rng}), as a {@link Comparison}. With
   * {@code oneAtATime} the feedback model is asked one question at a time, so that each is a batch of its own and the
   * label does not depend on what else the model serves (continual RLAIF, whose runs resume bit-identically).
   */
  public static CompletionStage<Comparison> labelPair(Prompt prompt, Transcript conversation, String responseA,
      String responseB, List<Principle> principles, SplittableRandom rng, Constitution constitution,
      LabelingPrompts prompts, Models models, Settings settings, boolean oneAtATime) {
    String[] pair = {responseA.strip(), responseB.strip()};
    if (pair[0].isEmpty() || pair[1].isEmpty()) {
      return CompletableFuture.failedFuture(new IllegalStateException("the policy returned an empty response"));
    }
    long[] seeds = new long[principles.size()];
    for (int k = 0; k < seeds.length; k++) {
      seeds[k] = rng.nextLong();
    }
    CompletionStage<List<Verdict>> judged = CompletableFuture.completedFuture(new ArrayList<>());
    List<CompletionStage<Verdict>> perPrinciple = new ArrayList<>();
    for (int k = 0; k < principles.size(); k++) {
      Principle p = principles.get(k);
      long seed = seeds[k];
      if (oneAtATime) {
        judged = judged.thenCompose(done -> judge(conversation, p, pair[0], pair[1], prompts, models, settings, seed, true)
            .thenApply(v -> {
              done.add(v);
              return done;
            }));
      } else {
        perPrinciple.add(judge(conversation, p, pair[0], pair[1], prompts, models, settings, seed, false));
      }
    }
    return (oneAtATime ? judged : all(perPrinciple)).thenApply(verdicts -> comparison(prompt, conversation, pair,
        principles, verdicts, models, constitution, settings));
  }

  /** One principle's verdict: p(A) in both orders (pSwapped NaN when not debiased) and the reasoning (CoT). */
  private record Verdict(double pForward, double pSwapped, String reasoning) {}

  /** p(A) for one order of the options, with the reasoning that preceded it (chain-of-thought). */
  private record Judged(double pA, String reasoning) {}

  private static CompletionStage<Verdict> judge(Transcript conversation, Principle principle, String respA, String respB,
      LabelingPrompts prompts, Models models, Settings settings, long seed, boolean oneAtATime) {
    CompletionStage<Judged> forward = judgeOrder(conversation, principle, respA, respB, prompts, models, settings, seed);
    Judged notScored = new Judged(Double.NaN, "");
    java.util.function.Supplier<CompletionStage<Judged>> swapped = () -> settings.debias()
        ? judgeOrder(conversation, principle, respB, respA, prompts, models, settings, seed + 1)
        : CompletableFuture.completedFuture(notScored);
    java.util.function.BiFunction<Judged, Judged, Verdict> verdict = (f, s) -> new Verdict(f.pA(), s.pA(),
        s.reasoning().isEmpty() ? f.reasoning() : "[A/B order] " + f.reasoning() + "\n[B/A order] " + s.reasoning());
    return oneAtATime
        ? forward.thenCompose(f -> swapped.get().thenApply(s -> verdict.apply(f, s)))
        : forward.thenCombine(swapped.get(), verdict);
  }

  private static CompletionStage<Judged> judgeOrder(Transcript conversation, Principle principle, String optionA,
      String optionB, LabelingPrompts prompts, Models models, Settings settings, long seed) {
    ChatTemplate t = models.feedbackTemplate();
    if (!settings.chainOfThought()) {
      String ctx = prompts.context(t, conversation, principle, optionA, optionB, LabelingPrompts.ANSWER_PREFIX);
      return models.feedback().score(ctx, LabelingPrompts.OPTION_A, LabelingPrompts.OPTION_B)
          .thenApply(s -> new Judged(probA(s), ""));
    }
    String think = prompts.context(t, conversation, principle, optionA, optionB, LabelingPrompts.THINK);
    return models.feedbackReasoner().respond(Transcript.ofHuman(think), seed).thenCompose(reasoning -> {
      String ctx = prompts.context(t, conversation, principle, optionA, optionB,
          LabelingPrompts.THINK + "\n" + reasoning.text().strip() + LabelingPrompts.COT_ANSWER);
      return models.feedback().score(ctx, LabelingPrompts.OPTION_A, LabelingPrompts.OPTION_B)
          .thenApply(s -> new Judged(probA(s), reasoning.text().strip()));
    });
  }

  private static double probA(OptionScores s) {
    return SoftLabels.normalize(s.logProbA(), s.logProbB());
  }

  private static Comparison comparison(Prompt prompt, Transcript conversation, String[] pair, List<Principle> principles,
      List<Verdict> judged, Models models, Constitution constitution, Settings settings) {
    double[] labels = new double[judged.size()];
    double forward = 0;
    double swapped = 0;
    StringBuilder reasoning = new StringBuilder();
    for (int k = 0; k < judged.size(); k++) {
      double pf = judged.get(k).pForward();
      double ps = judged.get(k).pSwapped();
      if (!judged.get(k).reasoning().isEmpty()) {
        reasoning.append(reasoning.length() == 0 ? "" : "\n").append(judged.get(k).reasoning());
      }
      labels[k] = settings.debias() ? SoftLabels.debias(pf, ps) : pf;
      forward += pf / judged.size();
      swapped += ps / judged.size();
    }
    double p = SoftLabels.ensemble(labels);
    if (settings.chainOfThought()) {
      p = SoftLabels.clamp(p, settings.clampLow(), settings.clampHigh());
    }
    Comparison.Builder c = Comparison.newBuilder()
        .setPrompt(prompt).setResponseA(pair[0]).setResponseB(pair[1])
        .setPrincipleId(principles.get(0).id()).setPA(p).setPAForward(forward).setPASwapped(swapped)
        .setChainOfThought(reasoning.toString())
        .setLabelerModelId(models.feedbackModelId()).setPolicyModelId(models.policyModelId())
        .setPolicyVersion(settings.policyVersion())
        .setConstitution(constitution.ref()).setCreatedAtMs(System.currentTimeMillis());
    if (principles.size() > 1) {
      principles.forEach(pr -> c.addEnsemblePrincipleIds(pr.id()));
    }
    return c.build();
  }

  private static List<Labeled> commit(RecordStore store, List<Labeled> group) {
    Commit commit = new Commit();
    Map<String, Long> offsets = new LinkedHashMap<>();
    for (Labeled l : group) {
      l.comparison().ifPresent(c -> commit.append(RecordKind.COMPARISONS, c));
      offsets.merge(l.source(), l.prompt().getSourceOffset(), Math::max);
    }
    offsets.forEach(commit::offset);
    store.commit(commit);
    group.forEach(l -> l.comparison().ifPresent(LabelGraph::publish));
    return group;
  }

  /** Shows a committed comparison on the live feed: prompt, both responses and the soft label p(A). */
  private static void publish(Comparison c) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("prompt", c.getPrompt().getText());
    fields.put("a", c.getResponseA());
    fields.put("b", c.getResponseB());
    fields.put("pA", c.getPA());
    fields.put("principle", c.getPrincipleId());
    SampleFeed.global().publish(SampleFeed.LABEL, fields);
  }

  private static <T> CompletionStage<List<T>> all(List<CompletionStage<T>> stages) {
    CompletableFuture<?>[] fs = stages.stream().map(CompletionStage::toCompletableFuture).toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(fs).thenApply(v -> stages.stream().map(s -> s.toCompletableFuture().join()).toList());
  }
}
