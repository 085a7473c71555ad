package dev.cai.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.persistence.Stored;
import dev.cai.protocol.v1.CritiqueRound;
import dev.cai.protocol.v1.SlExample;
import dev.cai.runtime.constitution.Constitution;
import dev.cai.runtime.constitution.ConstitutionLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(TestKitJUnit5Extension.class)
class SlGraphTest {
  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();
  @TempDir Path dir;

  private static final Constitution CONSTITUTION = ConstitutionLoader.loadDefault();

  private Path prompts(String name, int n) throws Exception {
    List<String> lines = IntStream.rangeClosed(1, n).mapToObj(i -> "{\"prompt\": \"question " + i + "?\"}").toList();
    return Files.write(dir.resolve(name), lines);
  }

  private static SlGraph.Settings settings(int rounds, int parallelism, long limit) {
    return new SlGraph.Settings(rounds, parallelism, 4, Duration.ofMillis(100), 42L, limit, true, false);
  }

  private SlGraph.Summary run(List<PromptSource> sources, RecordStore store, FakeResponder policy, FakeResponder critic,
      SlGraph.Settings s) throws Exception {
    SlGraph.Models models = new SlGraph.Models(policy, "fake-policy", critic, "fake-critic");
    return SlGraph.run(testKit.system(), sources, store, CONSTITUTION, models, s, x -> { })
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static List<SlExample> examples(RecordStore store) {
    return store.read(RecordKind.SL_EXAMPLES, 0, 10_000).stream().map(Stored::record).toList();
  }

  @Test
  void shouldWriteOneExampleWithFourCritiqueRevisionRoundsPerPromptAndHelpfulAnswers() throws Exception {
    Path red = prompts("red.jsonl", 6);
    Path helpful = prompts("helpful.jsonl", 2);
    try (RecordStore store = RecordStore.inMemory();
         FakeResponder policy = new FakeResponder(last -> "answer to " + last, 0);
         FakeResponder critic = new FakeResponder(last -> "critique of " + last, 0)) {
      SlGraph.Summary summary = run(List.of(new PromptSource(red, false), new PromptSource(helpful, true)),
          store, policy, critic, settings(4, 3, 0));
      assertEquals(8, summary.examples());
      assertEquals(0, summary.failed());
      assertEquals((6 * 9 + 2) * 7L, summary.completionTokens(), "7 tokens per call: 9 calls per red-team prompt, 1 per helpful");
      assertTrue(summary.promptTokens() > summary.completionTokens(), "critique prompts carry the conversation");
      List<SlExample> all = examples(store);
      assertEquals(8, all.size());
      for (SlExample e : all.subList(0, 6)) {
        assertEquals(SlExample.Status.OK, e.getStatus());
        assertEquals(4, e.getRoundsCount());
        CritiqueRound last = e.getRounds(3);
        assertEquals(last.getRevision(), e.getFinalRevision());
        assertTrue(last.getCritique().startsWith("critique of " + CONSTITUTION.critiqueRevision(last.getPrincipleId()).critique()),
            "the critic answered the drawn principle's critique request");
        assertEquals(CONSTITUTION.contentSha256(), e.getConstitution().getContentSha256());
        assertEquals("fake-critic", e.getCriticModelId());
      }
      SlExample h = all.get(7);
      assertTrue(h.getPrompt().getHelpful());
      assertEquals(0, h.getRoundsCount());
      assertEquals(h.getInitialResponse(), h.getFinalRevision());
      assertEquals(6, store.resumeOffset(new PromptSource(red, false).id()));
      assertEquals(2, store.resumeOffset(new PromptSource(helpful, true).id()));
      assertEquals(6 * 9 + 2, policy.calls.get() + critic.calls.get());
    }
  }

  @Test
  void shouldRecordFailuresWithTheirReasonAndGoOn() throws Exception {
    Path red = prompts("red.jsonl", 5);
    try (RecordStore store = RecordStore.inMemory();
         FakeResponder policy = new FakeResponder(last -> {
           if (last.equals("question 2?")) {
             throw new IllegalStateException("prompt has 3000 tokens, the context holds 2048");
           }
           return "answer";
         }, 0);
         FakeResponder critic = new FakeResponder(last -> last.startsWith("question") ? "x" : "", 0)) {
      SlGraph.Summary summary = run(List.of(new PromptSource(red, false)), store, policy, critic, settings(2, 2, 0));
      assertEquals(5, summary.examples());
      assertEquals(5, summary.failed(), "the critic only ever returns empty critiques");
      List<SlExample> all = examples(store);
      assertEquals("initial response failed: prompt has 3000 tokens, the context holds 2048", all.get(1).getFailureReason());
      assertEquals("empty critique in round 1", all.get(0).getFailureReason());
      assertEquals(SlExample.Status.FAILED, all.get(4).getStatus());
      assertEquals(5, store.resumeOffset(new PromptSource(red, false).id()), "failed prompts are consumed too");
    }
  }

  @Test
  void shouldResumeAfterTheLastCommitWithoutDuplicatesOrGaps() throws Exception {
    Path red = prompts("red.jsonl", 11);
    List<PromptSource> src = List.of(new PromptSource(red, false));
    try (RecordStore store = RecordStore.inMemory();
         FakeResponder policy = new FakeResponder(last -> "a", 0);
         FakeResponder critic = new FakeResponder(last -> "c", 0)) {
      assertEquals(4, run(src, store, policy, critic, settings(1, 4, 4)).examples());
      assertEquals(7, run(src, store, policy, critic, settings(1, 4, 0)).examples());
      assertEquals(0, run(src, store, policy, critic, settings(1, 4, 0)).examples(), "nothing left");
      List<String> ids = examples(store).stream().map(e -> e.getPrompt().getId()).toList();
      assertEquals(IntStream.rangeClosed(1, 11).mapToObj(i -> "red.jsonl:" + i).toList(), ids);
    }
  }

  @Test
  void shouldDrawTheSamePrinciplesWhateverTheParallelismAndBoundInFlightWork() throws Exception {
    Path red = prompts("red.jsonl", 12);
    List<List<String>> runs = new ArrayList<>();
    for (int parallelism : new int[] {1, 5}) {
      try (RecordStore store = RecordStore.inMemory();
           FakeResponder policy = new FakeResponder(last -> "a", 5);
           FakeResponder critic = new FakeResponder(last -> "c", 5)) {
        run(List.of(new PromptSource(red, false)), store, policy, critic, settings(4, parallelism, 0));
        assertTrue(policy.maxInFlight.get() + critic.maxInFlight.get() <= 2 * parallelism);
        assertTrue(policy.maxInFlight.get() <= parallelism, "at most one call per prompt in flight");
        runs.add(examples(store).stream().map(e -> e.getRoundsList().stream().map(CritiqueRound::getPrincipleId)
            .collect(Collectors.joining(",")) + "|" + e.getFinalRevision()).toList());
      }
    }
    assertEquals(runs.get(0), runs.get(1));
    assertTrue(runs.get(0).stream().map(s -> s.split("\\|")[0]).distinct().count() > 6, "principles vary across prompts");
  }

  @Test
  void shouldDrawTheSamePrinciplesWhereverThePromptFileLies() throws Exception {
    List<String> lines = IntStream.rangeClosed(1, 12).mapToObj(i -> "{\"prompt\": \"question " + i + "?\"}").toList();
    List<List<String>> runs = new ArrayList<>();
    for (String file : new String[] {"run-a/prompts/red.jsonl", "elsewhere/run-b/prompts/red.jsonl", "run-c/blue.jsonl"}) {
      Path copy = dir.resolve(file);
      Files.createDirectories(copy.getParent());
      Files.write(copy, lines);
      try (RecordStore store = RecordStore.inMemory();
           FakeResponder policy = new FakeResponder(last -> "a", 5);
           FakeResponder critic = new FakeResponder(last -> "c", 5)) {
        run(List.of(new PromptSource(copy, false)), store, policy, critic, settings(4, 2, 0));
        runs.add(examples(store).stream().sorted(Comparator.comparingLong(e -> e.getPrompt().getSourceOffset()))
            .map(e -> e.getRoundsList().stream().map(CritiqueRound::getPrincipleId).collect(Collectors.joining(",")))
            .toList());
      }
    }
    assertEquals(runs.get(0), runs.get(1), "the same file name in another directory draws the same principles");
    assertTrue(!runs.get(0).equals(runs.get(2)), "another file name draws others");
  }

  private static void await(RecordStore store, int examples) throws InterruptedException {
    long deadline = System.nanoTime() + 15_000_000_000L;
    while (examples(store).size() < examples) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("only " + examples(store).size() + " of " + examples + " examples within 15 s");
      }
      Thread.sleep(20);
    }
  }

  @Test
  void shouldProcessPromptsAddedWhileLiveExactlyOnceAcrossARestart() throws Exception {
    Path live = prompts("live.jsonl", 2);
    PromptSource ps = new PromptSource(live, false);
    LivePrompts.Settings follow = new LivePrompts.Settings(Duration.ofMillis(20), true, false, 4);
    try (RecordStore store = RecordStore.inMemory();
         FakeResponder policy = new FakeResponder(last -> "a", 0);
         FakeResponder critic = new FakeResponder(last -> "c", 0)) {
      SlGraph.Models models = new SlGraph.Models(policy, "fake-policy", critic, "fake-critic");
      var first = SlGraph.run(testKit.system(), LivePrompts.source(List.of(ps), java.util.Optional.empty(),
          store::resumeOffset, follow, e -> { }), store, CONSTITUTION, models, settings(1, 2, 0), x -> { });
      await(store, 2);
      Files.writeString(live, "{\"prompt\": \"question 3?\"}\n{\"prompt\": \"question 4?\"}\n",
          java.nio.file.StandardOpenOption.APPEND);
      await(store, 4);
      assertEquals(LivePrompts.Offer.ENQUEUED,
          first.first().offer(dev.cai.protocol.v1.Prompt.newBuilder().setText("typed in").build()));
      await(store, 5);
      first.first().stop();
      assertEquals(5, first.second().toCompletableFuture().get(10, TimeUnit.SECONDS).examples());
      assertEquals(4, store.resumeOffset(ps.id()), "the in-memory prompt leaves no offset");
      assertEquals(java.util.Map.of(ps.id(), 4L), store.offsets());

      Files.writeString(live, "{\"prompt\": \"question 5?\"}\n", java.nio.file.StandardOpenOption.APPEND);
      var second = SlGraph.run(testKit.system(), LivePrompts.source(List.of(ps), java.util.Optional.empty(),
          store::resumeOffset, follow, e -> { }), store, CONSTITUTION, models, settings(1, 2, 0), x -> { });
      await(store, 6);
      Thread.sleep(200); // nothing else may arrive
      second.first().stop();
      assertEquals(1, second.second().toCompletableFuture().get(10, TimeUnit.SECONDS).examples());
      assertEquals(List.of("question 1?", "question 2?", "question 3?", "question 4?", "typed in", "question 5?"),
          examples(store).stream().map(e -> e.getPrompt().getText()).toList());
      assertEquals(5, store.resumeOffset(ps.id()));
    }
  }
}
