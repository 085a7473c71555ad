package dev.cai.streams;

import dev.cai.actors.Completion;
import dev.cai.persistence.Commit;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.protocol.v1.CritiqueRound;
import dev.cai.protocol.v1.Prompt;
import dev.cai.protocol.v1.SlExample;
import dev.cai.runtime.Failures;
import dev.cai.runtime.constitution.Constitution;
import dev.cai.runtime.constitution.Constitution.CritiqueRevision;
import dev.cai.runtime.constitution.CritiquePrompts;
import dev.cai.runtime.constitution.Transcript;
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
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The SL-CAI data graph (Bai et al. 2022, §3): prompts → initial response → N rounds of (random
 * principle, critique, revision) → {@link SlExample} → RocksDB. Helpful prompts get an answer and no
 * critique (the helpfulness mix). Backpressured end to end: at most {@code parallelism} prompts are in
 * flight, each asking the model actors in turn. Records are committed together with the line offset
 * they consumed, in source order, so a restarted run continues after the last commit with no
 * duplicate and no gap. A prompt that fails is stored as FAILED with the reason and the run goes on.
 */
public final class SlGraph {
  private SlGraph() {}

  /**
   * Settings of one SL generation run.
   *
   * @param rounds critique → revision rounds per prompt (the paper used 4)
   * @param parallelism prompts in flight at once (feeds the model actors' dynamic batching)
   * @param commitEvery examples per RocksDB commit (a partial group commits after {@code commitInterval})
   * @param commitInterval longest wait before a partial group commits
   * @param seed draws principles and sampling seeds; the same seed gives the same run
   * @param limit read only the first {@code limit} lines of each source (one prompt per line), 0 = all
   * @param fewShot show the constitution's critique/revision demonstrations before each request
   * @param chainOfThought ask for step-by-step critiques
   */
  public record Settings(int rounds, int parallelism, int commitEvery, Duration commitInterval, long seed, long limit,
      boolean fewShot, boolean chainOfThought) {
    public Settings {
      if (rounds < 0 || parallelism < 1 || commitEvery < 1 || limit < 0) {
        throw new IllegalArgumentException("SL settings need rounds >= 0, parallelism >= 1, commitEvery >= 1, limit >= 0; got "
            + rounds + ", " + parallelism + ", " + commitEvery + ", " + limit);
      }
    }
  }

  /** Who wrote the records: model ids and the constitution. */
  public record Models(Responder policy, String policyModelId, Responder critic, String criticModelId) {}

  /** Totals of one run (this process only). */
  public record Summary(long examples, long failed, long promptTokens, long completionTokens) {
    static final Summary ZERO = new Summary(0, 0, 0, 0);

    Summary plus(Summary o) {
      return new Summary(examples + o.examples, failed + o.failed, promptTokens + o.promptTokens,
          completionTokens + o.completionTokens);
    }
  }

  /** The metered stages of the graph, in pipeline order. */
  private record Meters(StageMeter read, StageMeter prompt, StageMeter respond, StageMeter critique, StageMeter revise,
      StageMeter commit) {
    static Meters of(Settings s) {
      int p = s.parallelism();
      return new Meters(StageMeter.of(GRAPH, "read", 1), StageMeter.of(GRAPH, "prompt", p),
          StageMeter.of(GRAPH, "respond", p), StageMeter.of(GRAPH, "critique", p), StageMeter.of(GRAPH, "revise", p),
          StageMeter.of(GRAPH, "commit", 1));
    }
  }

  /** The {@code graph} tag of this graph's stage meters. */
  public static final String GRAPH = "sl";

  /** One processed prompt, before commit. */
  private record Done(SourcedPrompt input, SlExample example, long promptTokens, long completionTokens) {}

  /**
   * Runs the graph over {@code sources} (in order), resuming each from its committed offset.
   *
   * @param progress called after every commit with the running totals
   */
  public static CompletionStage<Summary> run(ActorSystem<?> system, List<PromptSource> sources, RecordStore store,
      Constitution constitution, Models models, Settings settings, Consumer<Summary> progress) {
    Source<SourcedPrompt, NotUsed> all = Source.empty();
    for (PromptSource ps : sources) {
      String id = ps.id();
      all = all.concat(prompts(ps, store, settings.limit()).map(p -> new SourcedPrompt(id, p.getSourceOffset(), p, true)));
    }
    return run(system, all, store, constitution, models, settings, progress).second();
  }

  /**
   * Runs the graph over a prompt stream, e.g. a {@link LivePrompts} feed resumed from {@code store::resumeOffset}:
   * each durable prompt's offset is committed with its example (in-memory submissions are processed but leave no
   * offset). {@code settings.limit()} does not apply here. Completes when {@code prompts} completes.
   *
   * @return the stream's materialized value (e.g. the feed's control) and the totals once it completes
   */
  public static <M> Pair<M, CompletionStage<Summary>> run(ActorSystem<?> system, Source<SourcedPrompt, M> prompts,
      RecordStore store, Constitution constitution, Models models, Settings settings, Consumer<Summary> progress) {
    Executor io = system.dispatchers().lookup(DispatcherSelector.blocking());
    CritiquePrompts critiquePrompts = new CritiquePrompts(
        settings.fewShot() ? constitution.critiqueExamples() : List.of(), settings.chainOfThought());
    Summary[] running = {Summary.ZERO};
    Meters meters = Meters.of(settings);
    return prompts
        .map(p -> {
          meters.read().passed(1, 0);
          return p;
        })
        .mapAsync(settings.parallelism(), p -> meters.prompt().time(1,
            () -> process(p, constitution, critiquePrompts, models, settings, meters), d -> d.completionTokens()))
        .groupedWithin(settings.commitEvery(), settings.commitInterval())
        .mapAsync(1, group -> CompletableFuture.supplyAsync(
            () -> meters.commit().call(group.size(), () -> commit(store, group)), io))
        .toMat(Sink.fold(Summary.ZERO, (acc, s) -> {
          running[0] = acc.plus(s);
          progress.accept(running[0]);
          return running[0];
        }), Keep.both())
        .run(system);
  }

  /** Prompts of one source after its committed offset, up to the limit. */
  private static Source<Prompt, ?> prompts(PromptSource ps, RecordStore store, long limit) {
    long from = store.resumeOffset(ps.id());
    Source<Prompt, ?> src = Source.unfoldResource(
        () -> PromptReader.open(ps.file(), from, ps.helpful()),
        r -> r.hasNext() ? Optional.of(r.next()) : Optional.empty(),
        PromptReader::close);
    return limit > 0 ? src.takeWhile(p -> p.getSourceOffset() <= limit) : src;
  }

  /** Initial response and critique → revision rounds of one prompt; never fails (failures become records). */
  private static CompletionStage<Done> process(SourcedPrompt input, Constitution constitution,
      CritiquePrompts critiquePrompts, Models models, Settings settings, Meters meters) {
    Prompt prompt = input.prompt();
    SplittableRandom rng = PromptSource.promptRng(settings.seed(), 0x9E3779B97F4A7C15L, input.sourceId(), input.offset());
    Transcript conversation;
    try {
      conversation = CritiquePrompts.initial(prompt.getContext(), prompt.getText());
    } catch (IllegalArgumentException e) {
      return CompletableFuture.completedFuture(failed(input, models, settings, "bad prompt: " + e.getMessage(), 0, 0));
    }
    int rounds = prompt.getHelpful() ? 0 : settings.rounds();
    SlExample.Builder example = SlExample.newBuilder()
        .setPrompt(prompt).setPolicyModelId(models.policyModelId()).setCriticModelId(models.criticModelId())
        .setConstitution(constitution.ref()).setSeed(settings.seed());
    long[] tokens = new long[2];
    Transcript conv = conversation;
    CompletionStage<String> chain = ask(models.policy(), conv, rng.nextLong(), "initial response", tokens,
        meters.respond());
    for (int r = 0; r < rounds; r++) {
      int round = r + 1;
      CritiqueRevision rule = constitution.critiqueRevisions().get(rng.nextInt(constitution.critiqueRevisions().size()));
      long critiqueSeed = rng.nextLong();
      long revisionSeed = rng.nextLong();
      chain = chain.thenCompose(response -> {
        if (round == 1) {
          example.setInitialResponse(response);
        }
        return ask(models.critic(), critiquePrompts.critique(conv, response, rule), critiqueSeed,
            "critique in round " + round, tokens, meters.critique())
            .thenCompose(critique -> ask(models.policy(), critiquePrompts.revision(conv, response, critique, rule),
                revisionSeed, "revision in round " + round, tokens, meters.revise())
                .thenApply(revision -> {
                  example.addRounds(CritiqueRound.newBuilder().setPrincipleId(rule.id())
                      .setCritiqueRequest(rule.critique()).setCritique(critique)
                      .setRevisionRequest(rule.revision()).setRevision(revision));
                  return revision;
                }));
      });
    }
    return chain.handle((finalText, err) -> {
      if (err != null) {
        return failed(input, models, settings, Failures.describe(err), tokens[0], tokens[1]);
      }
      if (rounds == 0) {
        example.setInitialResponse(finalText);
      }
      SlExample done = example.setFinalRevision(finalText).setStatus(SlExample.Status.OK)
          .setCreatedAtMs(System.currentTimeMillis()).build();
      return new Done(input, done, tokens[0], tokens[1]);
    });
  }

  private static CompletionStage<String> ask(Responder responder, Transcript conversation, long seed, String step,
      long[] tokens, StageMeter meter) {
    return meter.time(1, () -> responder.respond(conversation, seed), Completion::completionTokens).handle((c, err) -> {
      if (err != null) {
        throw new StepFailed(step + " failed: " + Failures.describe(err));
      }
      synchronized (tokens) {
        tokens[0] += c.promptTokens();
        tokens[1] += c.completionTokens();
      }
      if (c.text().isBlank()) {
        throw new StepFailed("empty " + step);
      }
      return c.text().strip();
    });
  }

  private static Done failed(SourcedPrompt input, Models models, Settings settings, String reason,
      long promptTokens, long completionTokens) {
    SlExample ex = SlExample.newBuilder().setPrompt(input.prompt()).setPolicyModelId(models.policyModelId())
        .setCriticModelId(models.criticModelId()).setSeed(settings.seed()).setStatus(SlExample.Status.FAILED)
        .setFailureReason(reason).setCreatedAtMs(System.currentTimeMillis()).build();
    return new Done(input, ex, promptTokens, completionTokens);
  }

  /** Writes a group of examples and the (durable) offsets they consumed in one atomic batch. */
  private static Summary commit(RecordStore store, List<Done> group) {
    Commit commit = new Commit();
    Map<String, Long> offsets = new LinkedHashMap<>();
    long failed = 0;
    long promptTokens = 0;
    long completionTokens = 0;
    List<SlExample> examples = new ArrayList<>(group.size());
    for (Done d : group) {
      examples.add(d.example());
      if (d.input().durable()) {
        offsets.merge(d.input().sourceId(), d.input().offset(), Math::max);
      }
      failed += d.example().getStatus() == SlExample.Status.FAILED ? 1 : 0;
      promptTokens += d.promptTokens();
      completionTokens += d.completionTokens();
    }
    commit.appendAll(RecordKind.SL_EXAMPLES, examples);
    offsets.forEach(commit::offset);
    store.commit(commit);
    examples.forEach(SlGraph::publish);
    return new Summary(group.size(), failed, promptTokens, completionTokens);
  }

  /** Shows a committed OK example on the live feed: prompt, first response, last critique, final revision. */
  private static void publish(SlExample e) {
    if (e.getStatus() != SlExample.Status.OK) {
      return;
    }
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("prompt", e.getPrompt().getText());
    fields.put("response", e.getInitialResponse());
    if (e.getRoundsCount() > 0) {
      CritiqueRound last = e.getRounds(e.getRoundsCount() - 1);
      fields.put("principle", last.getPrincipleId());
      fields.put("critique", last.getCritique());
    }
    fields.put("revision", e.getFinalRevision());
    SampleFeed.global().publish(SampleFeed.SL, fields);
  }

  /** A step of the chain failed; its message is the failure reason recorded. */
  private static final class StepFailed extends RuntimeException {
    StepFailed(String message) {
      super(message, null, false, false);
    }
  }
}
