package dev.cai.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.actors.Completion;
import dev.cai.actors.OptionScores;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.persistence.Stored;
import dev.cai.protocol.v1.Comparison;
import dev.cai.runtime.constitution.ConstitutionLoader;
import dev.cai.runtime.constitution.LabelingPrompts;
import dev.cai.runtime.ppo.SoftLabels;
import dev.cai.runtime.tokenizer.ChatTemplate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(TestKitJUnit5Extension.class)
class LabelGraphTest {
  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();
  @TempDir Path dir;

  /** Responses "response <seed>" — distinct per sample. */
  private static final Responder POLICY = (conv, seed) ->
      CompletableFuture.completedFuture(new Completion("response " + seed, 10, 5, true));

  /** How good a response looks to the fake judge: a stable function of its text. */
  static double quality(String response) {
    return (Math.floorMod(response.hashCode(), 1000) - 500) / 250.0;
  }

  static final double POSITION_BIAS = 0.7; // the fake judge prefers whatever is shown at (A)

  /** Reads the two options back from the question and scores them with a position bias towards (A). */
  private static final OptionScorer JUDGE = (context, a, b) -> {
    int ia = context.lastIndexOf("\n(A) ");
    int ib = context.lastIndexOf("\n(B) ");
    String optA = context.substring(ia + 5, ib);
    String optB = context.substring(ib + 5, context.indexOf('\n', ib + 5) < 0 ? context.length() : context.indexOf('<', ib + 5));
    assertEquals(LabelingPrompts.OPTION_A, a);
    return CompletableFuture.completedFuture(new OptionScores(quality(optA) + POSITION_BIAS, quality(optB.strip()), 40));
  };

  private static final Responder REASONER = (conv, seed) ->
      CompletableFuture.completedFuture(new Completion("Option (A) is kinder.", 50, 6, true));

  private Path prompts(int n) throws Exception {
    return Files.write(dir.resolve("p.jsonl"), IntStream.rangeClosed(1, n).mapToObj(i -> "{\"prompt\": \"q" + i + "\"}").toList());
  }

  private List<Comparison> run(LabelGraph.Settings s, RecordStore store, Path file) throws Exception {
    LabelGraph.Models models = new LabelGraph.Models(POLICY, "policy-x", JUDGE, REASONER, ChatTemplate.chatMl(), "judge-y");
    LabelGraph.Summary summary = LabelGraph.run(testKit.system(), List.of(new PromptSource(file, false)), store,
        ConstitutionLoader.loadDefault(), models, s, x -> { }).toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertEquals(0, summary.failed());
    return store.read(RecordKind.COMPARISONS, 0, 1000).stream().map(Stored::record).toList();
  }

  private static LabelGraph.Settings settings(boolean debias, int ensemble, boolean cot) {
    return new LabelGraph.Settings(4, 3, Duration.ofMillis(100), 5L, 0, debias, ensemble, cot, 0.4, 0.6, false, 3);
  }

  @Test
  void shouldCancelPositionBiasByScoringBothOrders() throws Exception {
    Path file = prompts(6);
    try (RecordStore store = RecordStore.inMemory()) {
      List<Comparison> all = run(settings(true, 1, false), store, file);
      assertEquals(6, all.size());
      for (Comparison c : all) {
        double qa = quality(c.getResponseA());
        double qb = quality(c.getResponseB());
        double forward = SoftLabels.normalize(qa + POSITION_BIAS, qb);
        double swapped = SoftLabels.normalize(qb + POSITION_BIAS, qa);
        assertEquals(forward, c.getPAForward(), 1e-9);
        assertEquals(swapped, c.getPASwapped(), 1e-9);
        assertEquals(SoftLabels.debias(forward, swapped), c.getPA(), 1e-9);
        assertTrue((c.getPA() - 0.5) * (qa - qb) >= 0, "the label follows quality, not position");
        assertEquals("judge-y", c.getLabelerModelId());
        assertEquals(3, c.getPolicyVersion());
        assertTrue(!c.getResponseA().equals(c.getResponseB()));
      }
      assertEquals(6, store.resumeOffset(new PromptSource(file, false).id()));
      assertTrue(all.stream().map(Comparison::getPrincipleId).distinct().count() > 1, "a principle drawn per comparison");
    }
  }

  @Test
  void shouldLabelTheSamePromptFileAlikeWhereverItLies() throws Exception {
    Path file = prompts(6);
    List<List<String>> runs = new ArrayList<>();
    for (String where : new String[] {"run-a/prompts", "elsewhere/run-b/prompts"}) {
      Path copy = Files.createDirectories(dir.resolve(where)).resolve("p.jsonl");
      Files.copy(file, copy);
      try (RecordStore store = RecordStore.inMemory()) {
        runs.add(run(settings(true, 1, false), store, copy).stream()
            .sorted(Comparator.comparingLong(c -> c.getPrompt().getSourceOffset()))
            .map(c -> c.getPrincipleId() + "|" + c.getResponseA() + "|" + c.getResponseB() + "|" + c.getPA()).toList());
      }
    }
    assertEquals(runs.get(0), runs.get(1), "principles, sampled pairs and labels do not depend on the directory");
  }

  @Test
  void shouldKeepTheRawLabelWithoutDebiasAndAverageAnEnsemble() throws Exception {
    Path file = prompts(3);
    try (RecordStore store = RecordStore.inMemory()) {
      for (Comparison c : run(settings(false, 3, false), store, file)) {
        assertEquals(SoftLabels.normalize(quality(c.getResponseA()) + POSITION_BIAS, quality(c.getResponseB())), c.getPA(), 1e-9);
        assertTrue(Double.isNaN(c.getPASwapped()));
        assertEquals(3, c.getEnsemblePrincipleIdsCount());
      }
    }
  }

  @Test
  void shouldResumeAfterTheLastCommitWithoutDuplicatesOrGaps() throws Exception {
    Path file = prompts(10);
    try (RecordStore store = RecordStore.inMemory()) {
      LabelGraph.Settings first = new LabelGraph.Settings(4, 3, Duration.ofMillis(100), 5L, 4, true, 1, false, 0.4, 0.6, false, 3);
      assertEquals(4, run(first, store, file).size());
      List<Comparison> all = run(settings(true, 1, false), store, file);
      assertEquals(IntStream.rangeClosed(1, 10).mapToObj(i -> "p.jsonl:" + i).toList(),
          all.stream().map(c -> c.getPrompt().getId()).toList(), "each prompt labeled exactly once, in order");
      assertEquals(10, store.resumeOffset(new PromptSource(file, false).id()));
    }
  }

  @Test
  void shouldClampChainOfThoughtLabelsAndStoreTheReasoning() throws Exception {
    Path file = prompts(4);
    try (RecordStore store = RecordStore.inMemory()) {
      for (Comparison c : run(settings(true, 1, true), store, file)) {
        assertTrue(c.getPA() >= 0.4 && c.getPA() <= 0.6, "clamped: " + c.getPA());
        assertTrue(c.getChainOfThought().contains("Option (A) is kinder."), c.getChainOfThought());
      }
    }
  }
}
