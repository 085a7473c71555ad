package dev.cai.streams.remote;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.persistence.Stored;
import dev.cai.protocol.v1.Comparison;
import dev.cai.protocol.v1.SlExample;
import dev.cai.runtime.constitution.ConstitutionLoader;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.streams.LabelGraph;
import dev.cai.streams.PromptSource;
import dev.cai.streams.Responder;
import dev.cai.streams.SlGraph;
import dev.cai.streams.remote.StubOpenAiServer.Reply;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The SL and labeling graphs over remote models on a stub server: labels from prompt log-probs, failures as records. */
@ExtendWith(TestKitJUnit5Extension.class)
class RemoteGraphsTest {
  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();
  @TempDir Path dir;

  private static final RemoteSettings FAST = new RemoteSettings(Duration.ofSeconds(2), Duration.ofSeconds(5), 1,
      Duration.ofMillis(10), Duration.ofMillis(50), 4);

  /** Chat replies "reply N"; the echo of "CONTEXT (X)" as tokens CONTEXT, " (", "X", ")" with log p(X) by letter. */
  private static Reply answer(StubOpenAiServer.Request r, int n) {
    if (r.path().endsWith("/chat/completions")) {
      return Reply.ok("{\"choices\": [{\"message\": {\"role\": \"assistant\", \"content\": \"reply " + n + "\"}, "
          + "\"finish_reason\": \"stop\"}], \"usage\": {\"prompt_tokens\": 30, \"completion_tokens\": 2}}");
    }
    String prompt = r.body().get("prompt").getAsString();
    String letter = prompt.substring(prompt.length() - 2, prompt.length() - 1);
    String context = prompt.substring(0, prompt.length() - 4);
    return Reply.ok(OpenAiClientTest.echoReply(List.of(context, " (", letter, ")"),
        Arrays.asList(null, -0.25, letter.equals("A") ? -0.5 : -1.5, -0.125)));
  }

  private Path prompts(int n) throws Exception {
    return Files.write(dir.resolve("p.jsonl"), IntStream.rangeClosed(1, n).mapToObj(i -> "{\"prompt\": \"q" + i + "\"}").toList());
  }

  private LabelGraph.Summary label(OpenAiClient feedback, RecordStore store, Path file) throws Exception {
    Responder policy = new RemoteResponder(feedback, GenerationSettings.sampling(16, 1.0, 0));
    LabelGraph.Models models = new LabelGraph.Models(policy, "policy-x", new RemoteOptionScorer(feedback), null,
        feedback.model().chatTemplate(), feedback.model().id());
    LabelGraph.Settings s = new LabelGraph.Settings(4, 3, Duration.ofMillis(100), 5L, 0, false, 1, false, 0.4, 0.6, false, 0);
    return LabelGraph.run(testKit.system(), List.of(new PromptSource(file, false)), store, ConstitutionLoader.loadDefault(),
        models, s, x -> { }).toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void shouldLabelFromTheRemotePromptLogProbs() throws Exception {
    Path file = prompts(4);
    try (StubOpenAiServer server = new StubOpenAiServer(RemoteGraphsTest::answer);
        RecordStore store = RecordStore.inMemory()) {
      OpenAiClient client = new OpenAiClient(server.model("judge", ""), FAST, Map.of());
      LabelGraph.Summary summary = label(client, store, file);
      assertEquals(4, summary.comparisons());
      assertEquals(0, summary.failed());
      for (Stored<Comparison> s : store.read(RecordKind.COMPARISONS, 0, 100)) {
        // log p(" (A)") = -0.25 - 0.5 - 0.125, log p(" (B)") = -0.25 - 1.5 - 0.125: p(A) = σ(1)
        assertEquals(1 / (1 + Math.exp(-1.0)), s.record().getPA(), 1e-12);
        assertEquals("openai:" + server.baseUrl() + "#judge", s.record().getLabelerModelId());
      }
    }
  }

  @Test
  void shouldSkipComparisonsWhoseRemoteCallsFail() throws Exception {
    Path file = prompts(3);
    try (StubOpenAiServer server = new StubOpenAiServer((r, n) -> r.path().endsWith("/completions")
        && !r.path().endsWith("/chat/completions") ? Reply.status(404, "{\"error\": {\"message\": \"no such model\"}}")
        : answer(r, n));
        RecordStore store = RecordStore.inMemory()) {
      OpenAiClient client = new OpenAiClient(server.model("judge", ""), FAST, Map.of());
      LabelGraph.Summary summary = label(client, store, file);
      assertEquals(0, summary.comparisons());
      assertEquals(3, summary.failed());
      assertEquals(3, store.resumeOffset(new PromptSource(file, false).id())); // consumed, not stalled
    }
  }

  @Test
  void shouldRecordFailedSlExamplesWithTheServersReason() throws Exception {
    Path file = prompts(3);
    try (StubOpenAiServer server = new StubOpenAiServer((r, n) -> Reply.status(503, "{\"error\": {\"message\": \"down\"}}"));
        RecordStore store = RecordStore.inMemory()) {
      OpenAiClient client = new OpenAiClient(server.model("smol", ""), FAST, Map.of());
      Responder remote = new RemoteResponder(client, GenerationSettings.sampling(16, 0.7, 0));
      SlGraph.Summary summary = SlGraph.run(testKit.system(), List.of(new PromptSource(file, false)), store,
          ConstitutionLoader.loadDefault(), new SlGraph.Models(remote, client.model().id(), remote, client.model().id()),
          new SlGraph.Settings(1, 2, 4, Duration.ofMillis(100), 1L, 0, false, false), x -> { })
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertEquals(3, summary.failed());
      assertEquals(6, server.requests().size()); // each prompt's first call: one attempt and one retry
      for (Stored<SlExample> s : store.read(RecordKind.SL_EXAMPLES, 0, 100)) {
        assertEquals(SlExample.Status.FAILED, s.record().getStatus());
        assertTrue(s.record().getFailureReason().endsWith("POST /chat/completions: HTTP 503: down (after 2 attempts, "
            + "cai.remote.max-retries = 1)"), s.record().getFailureReason());
      }
    }
  }
}
