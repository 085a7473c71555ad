package dev.cai.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.persistence.RecordStore;
import dev.cai.runtime.constitution.ConstitutionLoader;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(TestKitJUnit5Extension.class)
class StageMeterTest {
  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();
  @TempDir Path dir;
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @BeforeEach
  void attach() {
    Metrics.addRegistry(registry);
  }

  @AfterEach
  void detach() {
    Metrics.removeRegistry(registry);
  }

  @Test
  void shouldCountElementsTokensInFlightAndFillOfAnAsynchronousStep() {
    StageMeter m = StageMeter.of("test", "step-" + System.nanoTime(), 4);
    CompletableFuture<String> pending = new CompletableFuture<>();
    var result = m.time(2, () -> pending, s -> s.length());
    assertEquals(2, m.inFlight());
    assertEquals(0.5, m.bufferFill(), 1e-12, "2 of 4 places taken");
    assertEquals(0, m.elements());
    pending.complete("twelve chars");
    assertEquals("twelve chars", result.toCompletableFuture().join());
    assertEquals(0, m.inFlight());
    assertEquals(2, m.elements());
    assertEquals(12, m.tokens());
    assertEquals(2.0, registry.get(StageMeter.ELEMENTS).tags("graph", "test", "stage", m.stage()).counter().count(),
        "the same count on the attached registry");

    CompletableFuture<String> failing = new CompletableFuture<>();
    var failed = m.time(1, () -> failing, s -> 1);
    assertEquals(1, m.inFlight());
    failing.completeExceptionally(new IllegalStateException("model down"));
    assertThrows(Exception.class, () -> failed.toCompletableFuture().join());
    assertEquals(0, m.inFlight(), "a failed element leaves the stage");
    assertEquals(2, m.elements(), "but is not counted as done");

    assertThrows(IllegalStateException.class, () -> m.call(3, () -> {
      throw new IllegalStateException("commit failed");
    }));
    assertEquals(0, m.inFlight());
    assertEquals(5, m.call(3, () -> 5));
    assertEquals(5, m.elements());
    StageMeter full = StageMeter.of("test", "full-" + System.nanoTime(), 2);
    full.enter(3);
    assertEquals(1.0, full.bufferFill(), "fill is clamped to 1");
    full.abandon(3); // leave no stage of this JVM's registry holding elements
    assertThrows(IllegalArgumentException.class, () -> StageMeter.of("test", "bad", 0));
  }

  @Test
  void shouldMeterEveryStageOfTheSlGraphAndPublishItsExamples() throws Exception {
    Path red = Files.write(dir.resolve("red.jsonl"),
        IntStream.rangeClosed(1, 6).mapToObj(i -> "{\"prompt\": \"question " + i + "?\"}").toList());
    Path helpful = Files.write(dir.resolve("helpful.jsonl"), List.of("{\"prompt\": \"how do plants grow?\"}",
        "{\"prompt\": \"what is rain?\"}"));
    Map<String, Double> before = counts();
    long lastSeq = lastSeq();
    try (RecordStore store = RecordStore.inMemory();
         FakeResponder policy = new FakeResponder(last -> "answer to " + last, 0);
         FakeResponder critic = new FakeResponder(last -> "critique of " + last, 0)) {
      SlGraph.run(testKit.system(), List.of(new PromptSource(red, false), new PromptSource(helpful, true)), store,
          ConstitutionLoader.loadDefault(), new SlGraph.Models(policy, "p", critic, "c"),
          new SlGraph.Settings(4, 3, 4, Duration.ofMillis(100), 42L, 0, false, false), x -> { })
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    Map<String, Double> after = counts();
    Map<String, Double> delta = new LinkedHashMap<>();
    after.forEach((k, v) -> delta.put(k, v - before.getOrDefault(k, 0.0)));
    assertEquals(8, delta.get("read"));
    assertEquals(8, delta.get("prompt"));
    assertEquals(8, delta.get("respond"), "one initial response per prompt");
    assertEquals(24, delta.get("critique"), "4 rounds for each of the 6 red-team prompts, none for helpful ones");
    assertEquals(24, delta.get("revise"));
    assertEquals(8, delta.get("commit"));
    assertEquals(24 * 7.0, tokens("critique") - before.getOrDefault("critique.tokens", 0.0),
        "the fake answers 7 completion tokens per call");
    for (StageMeter m : StageMeter.all()) {
      if (m.graph().equals(SlGraph.GRAPH)) {
        assertEquals(0, m.inFlight(), m.stage() + " is empty once the run is done");
      }
    }
    assertEquals(List.of("read", "prompt", "respond", "critique", "revise", "commit"), StageMeter.all().stream()
        .filter(m -> m.graph().equals(SlGraph.GRAPH)).map(StageMeter::stage).toList(), "pipeline order");
    assertTrue(registry.get(StageMeter.LATENCY).tags("graph", "sl", "stage", "critique").timer().count() >= 24);

    List<SampleFeed.Sample> samples = SampleFeed.global().since(lastSeq);
    assertEquals(8, samples.size(), "every committed example is shown");
    SampleFeed.Sample first = samples.get(0);
    assertEquals(SampleFeed.SL, first.kind());
    assertEquals("question 1?", first.fields().get("prompt"));
    assertTrue(String.valueOf(first.fields().get("critique")).startsWith("critique of "), first.fields().toString());
    assertTrue(String.valueOf(first.fields().get("revision")).startsWith("answer to "), first.fields().toString());
    assertEquals(null, samples.get(7).fields().get("critique"), "a helpful prompt has no critique");
  }

  @Test
  void shouldKeepOnlyTheMostRecentSamplesInOrder() {
    SampleFeed feed = new SampleFeed(3);
    for (int i = 1; i <= 5; i++) {
      feed.publish(SampleFeed.RL, Map.of("score", i));
    }
    List<SampleFeed.Sample> all = feed.since(0);
    assertEquals(List.of(3L, 4L, 5L), all.stream().map(SampleFeed.Sample::seq).toList());
    assertEquals(List.of(5L), feed.since(4).stream().map(SampleFeed.Sample::seq).toList());
    assertThrows(IllegalArgumentException.class, () -> new SampleFeed(0));
  }

  private static long lastSeq() {
    List<SampleFeed.Sample> all = SampleFeed.global().since(0);
    return all.isEmpty() ? 0 : all.get(all.size() - 1).seq();
  }

  private static Map<String, Double> counts() {
    Map<String, Double> out = new LinkedHashMap<>();
    for (StageMeter m : StageMeter.all()) {
      if (m.graph().equals(SlGraph.GRAPH)) {
        out.put(m.stage(), m.elements());
        out.put(m.stage() + ".tokens", m.tokens());
      }
    }
    return out;
  }

  private static double tokens(String stage) {
    return StageMeter.all().stream().filter(m -> m.graph().equals(SlGraph.GRAPH) && m.stage().equals(stage))
        .findFirst().orElseThrow().tokens();
  }
}
