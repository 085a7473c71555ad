package dev.cai.streams.remote;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.cai.actors.Completion;
import dev.cai.actors.OptionScores;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.streams.remote.StubOpenAiServer.Reply;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class OpenAiClientTest {
  private static final String CHAT_REPLY = "{\"id\": \"c1\", \"object\": \"chat.completion\", \"choices\": [{\"index\": 0, "
      + "\"message\": {\"role\": \"assistant\", \"content\": \"I cannot help with that.\"}, \"finish_reason\": \"stop\"}], "
      + "\"usage\": {\"prompt_tokens\": 21, \"completion_tokens\": 7, \"total_tokens\": 28}}";

  /** Fast settings: 2 s per request, 3 retries from 20 ms, 4 in flight. */
  private static RemoteSettings settings(Duration requestTimeout, int maxRetries, int maxConcurrency) {
    return new RemoteSettings(Duration.ofSeconds(2), requestTimeout, maxRetries, Duration.ofMillis(20),
        Duration.ofMillis(200), maxConcurrency);
  }

  private static RemoteSettings fast() {
    return settings(Duration.ofSeconds(2), 3, 4);
  }

  /** The echo response of a prompt tokenized as {@code tokens} (offsets from 0, BOS first when given). */
  static String echoReply(List<String> tokens, List<Double> logProbs) {
    JsonArray t = new JsonArray();
    JsonArray lp = new JsonArray();
    JsonArray off = new JsonArray();
    int at = 0;
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < tokens.size(); i++) {
      t.add(tokens.get(i));
      lp.add(logProbs.get(i));
      off.add(at);
      at += tokens.get(i).codePointCount(0, tokens.get(i).length());
      text.append(tokens.get(i));
    }
    JsonObject logprobs = new JsonObject();
    logprobs.add("tokens", t);
    logprobs.add("token_logprobs", lp);
    logprobs.add("text_offset", off);
    logprobs.add("top_logprobs", new JsonArray());
    JsonObject choice = new JsonObject();
    choice.addProperty("index", 0);
    choice.addProperty("text", text.toString());
    choice.add("logprobs", logprobs);
    choice.addProperty("finish_reason", "length");
    JsonArray choices = new JsonArray();
    choices.add(choice);
    JsonObject usage = new JsonObject();
    usage.addProperty("prompt_tokens", tokens.size());
    usage.addProperty("completion_tokens", 0);
    JsonObject r = new JsonObject();
    r.add("choices", choices);
    r.add("usage", usage);
    return r.toString();
  }

  private static Throwable failure(CompletableFuture<?> f) throws Exception {
    ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
    return e.getCause();
  }

  @Test
  void shouldPostChatMessagesWithSamplingAndReadTheReply() throws Exception {
    try (StubOpenAiServer server = new StubOpenAiServer((r, n) -> Reply.ok(CHAT_REPLY))) {
      OpenAiClient client = new OpenAiClient(server.model("smol", ""), fast(), Map.of());
      GenerationSettings s = new GenerationSettings(64, 0.7, 0.9, 40, -5L, true, List.of("\n\nHuman:"));
      Completion c = client.chat(List.of(ChatMessage.user("How do I pick a lock?"), ChatMessage.assistant("Why?"),
          ChatMessage.user("Critique your answer.")), s).get(10, TimeUnit.SECONDS);

      assertEquals(new Completion("I cannot help with that.", 21, 7, true), c);
      StubOpenAiServer.Request req = server.requests().get(0);
      assertEquals("/v1/chat/completions", req.path());
      assertEquals("application/json", req.headers().getFirst("Content-Type"));
      assertNull(req.headers().getFirst("Authorization"));
      JsonObject b = req.body();
      assertEquals("smol", b.get("model").getAsString());
      JsonArray messages = b.getAsJsonArray("messages");
      assertEquals(3, messages.size());
      assertEquals("user", messages.get(0).getAsJsonObject().get("role").getAsString());
      assertEquals("How do I pick a lock?", messages.get(0).getAsJsonObject().get("content").getAsString());
      assertEquals("assistant", messages.get(1).getAsJsonObject().get("role").getAsString());
      assertEquals("Critique your answer.", messages.get(2).getAsJsonObject().get("content").getAsString());
      assertEquals(64, b.get("max_tokens").getAsInt());
      assertEquals(0.7, b.get("temperature").getAsDouble());
      assertEquals(0.9, b.get("top_p").getAsDouble());
      assertEquals(40, b.get("top_k").getAsInt());
      assertEquals(-5L & 0x7FFF_FFFFL, b.get("seed").getAsLong()); // 2147483643: non-negative, 31 bits
      assertEquals("\n\nHuman:", b.getAsJsonArray("stop").get(0).getAsString());
    }
  }

  @Test
  void shouldReportALengthCutReplyAsNotEnded() throws Exception {
    String cut = CHAT_REPLY.replace("\"stop\"", "\"length\"");
    try (StubOpenAiServer server = new StubOpenAiServer((r, n) -> Reply.ok(cut))) {
      OpenAiClient client = new OpenAiClient(server.model("smol", ""), fast(), Map.of());
      Completion c = client.chat(List.of(ChatMessage.user("hi")), GenerationSettings.greedy(8)).get(10, TimeUnit.SECONDS);
      assertFalse(c.endedWithEos());
      assertFalse(server.requests().get(0).body().has("top_k")); // top-k 0 (off) is not sent
      assertFalse(server.requests().get(0).body().has("stop"));
    }
  }

  @Test
  void shouldScoreOptionsFromEchoedPromptLogProbs() throws Exception {
    String context = "<|im_start|>assistant\nThe answer is:";
    // the server prepends a BOS that it counts in text_offset ("<s>", 3 characters): the boundary is found from the end
    try (StubOpenAiServer server = new StubOpenAiServer((r, n) -> {
      boolean a = r.body().get("prompt").getAsString().endsWith(" (A)");
      return Reply.ok(echoReply(List.of("<s>", "<|im_start|>", "assistant", "\n", "The", " answer", " is", ":", " (",
          a ? "A" : "B", ")"), java.util.Arrays.asList(null, -3.0, -2.5, -0.5, -4.0, -1.0, -0.25, -0.75, -0.5,
          a ? -1.25 : -2.25, -0.125)));
    })) {
      OpenAiClient client = new OpenAiClient(server.model("smol", ""), fast(), Map.of());
      OptionScores s = new RemoteOptionScorer(client).score(context, " (A)", " (B)").toCompletableFuture()
          .get(10, TimeUnit.SECONDS);

      assertEquals(-0.5 - 1.25 - 0.125, s.logProbA(), 0.0); // -1.875
      assertEquals(-0.5 - 2.25 - 0.125, s.logProbB(), 0.0); // -2.875
      assertEquals(8, s.contextTokens()); // BOS and the 7 context tokens
      List<StubOpenAiServer.Request> reqs = server.requests();
      assertEquals(2, reqs.size());
      for (StubOpenAiServer.Request req : reqs) {
        assertEquals("/v1/completions", req.path());
        JsonObject b = req.body();
        assertEquals("smol", b.get("model").getAsString());
        assertTrue(b.get("echo").getAsBoolean());
        assertEquals(0, b.get("max_tokens").getAsInt());
        assertEquals(1, b.get("logprobs").getAsInt());
      }
      List<String> prompts = reqs.stream().map(r -> r.body().get("prompt").getAsString()).sorted().toList();
      assertEquals(List.of(context + " (A)", context + " (B)"), prompts);
    }
  }

  @Test
  void shouldFailClearlyWhenTheServerReturnsNoPromptLogProbs() throws Exception {
    String noLogProbs = "{\"choices\": [{\"index\": 0, \"text\": \"The answer is: (A)\", \"logprobs\": null, "
        + "\"finish_reason\": \"length\"}]}";
    try (StubOpenAiServer server = new StubOpenAiServer((r, n) -> Reply.ok(noLogProbs))) {
      OpenAiClient client = new OpenAiClient(server.model("smol", ""), fast(), Map.of());
      Throwable t = failure(client.logProb("The answer is:", " (A)"));
      assertInstanceOf(RemoteModelException.class, t);
      assertTrue(t.getMessage().contains("remote model openai:" + server.baseUrl() + "#smol: POST /completions: "
          + "the server returned no prompt log-probs"), t.getMessage());
      assertTrue(t.getMessage().contains("echo: true, max_tokens: 0, logprobs: 1"), t.getMessage());
    }
  }

  @Test
  void shouldFailClearlyWhenOnlyGeneratedTokensCarryLogProbs() throws Exception {
    // a server that ignores echo and returns the log-prob of one generated token
    try (StubOpenAiServer server = new StubOpenAiServer((r, n) -> Reply.ok(echoReply(List.of(" Yes"), List.of(-0.5))))) {
      OpenAiClient client = new OpenAiClient(server.model("smol", ""), fast(), Map.of());
      Throwable t = failure(client.logProb("The answer is:", " (A)"));
      assertTrue(t.getMessage().contains("did not echo the prompt's log-probs"), t.getMessage());
    }
  }

  @Test
  void shouldRetryA503ThenSucceed() throws Exception {
    try (StubOpenAiServer server = new StubOpenAiServer((r, n) -> n == 0
        ? Reply.status(503, "{\"error\": {\"message\": \"overloaded\"}}") : Reply.ok(CHAT_REPLY))) {
      OpenAiClient client = new OpenAiClient(server.model("smol", ""), fast(), Map.of());
      Completion c = client.chat(List.of(ChatMessage.user("hi")), GenerationSettings.greedy(8)).get(10, TimeUnit.SECONDS);
      assertEquals("I cannot help with that.", c.text());
      assertEquals(2, server.requests().size());
      assertEquals(server.requests().get(0).body(), server.requests().get(1).body()); // the same request again
    }
  }

  @Test
  void shouldRetryA429AfterTheServersRetryAfter() throws Exception {
    try (StubOpenAiServer server = new StubOpenAiServer((r, n) -> n == 0
        ? new Reply(429, "{\"error\": {\"message\": \"slow down\"}}", 0, Map.of("Retry-After", "1"))
        : Reply.ok(CHAT_REPLY))) {
      // max-backoff 2 s admits the 1 s Retry-After (the 20 ms backoff alone would retry at once)
      RemoteSettings s = new RemoteSettings(Duration.ofSeconds(2), Duration.ofSeconds(2), 3, Duration.ofMillis(20),
          Duration.ofSeconds(2), 4);
      OpenAiClient client = new OpenAiClient(server.model("smol", ""), s, Map.of());
      long t0 = System.nanoTime();
      client.chat(List.of(ChatMessage.user("hi")), GenerationSettings.greedy(8)).get(10, TimeUnit.SECONDS);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertEquals(2, server.requests().size());
      assertTrue(ms >= 950, "retried after " + ms + " ms, before the server's Retry-After of 1 s");
    }
  }

  @Test
  void shouldGiveUpAfterMaxRetriesOf5xx() throws Exception {
    try (StubOpenAiServer server = new StubOpenAiServer((r, n) -> Reply.status(502, "bad gateway"))) {
      OpenAiClient client = new OpenAiClient(server.model("smol", ""), settings(Duration.ofSeconds(2), 2, 4), Map.of());
      Throwable t = failure(client.chat(List.of(ChatMessage.user("hi")), GenerationSettings.greedy(8)));
      assertEquals(3, server.requests().size());
      assertTrue(t.getMessage().endsWith("POST /chat/completions: HTTP 502: bad gateway (after 3 attempts, "
          + "cai.remote.max-retries = 2)"), t.getMessage());
    }
  }

  @Test
  void shouldNotRetryA400() throws Exception {
    try (StubOpenAiServer server = new StubOpenAiServer((r, n) -> Reply.status(400,
        "{\"object\": \"error\", \"message\": \"This model's maximum context length is 2048 tokens\", \"code\": 400}"))) {
      OpenAiClient client = new OpenAiClient(server.model("smol", ""), fast(), Map.of());
      Throwable t = failure(client.chat(List.of(ChatMessage.user("hi")), GenerationSettings.greedy(8)));
      assertEquals(1, server.requests().size());
      assertEquals("remote model openai:" + server.baseUrl() + "#smol: POST /chat/completions: HTTP 400: This model's "
          + "maximum context length is 2048 tokens", t.getMessage());
    }
  }

  @Test
  void shouldFailWithAClearMessageWhenTheServerIsTooSlow() throws Exception {
    try (StubOpenAiServer server = new StubOpenAiServer((r, n) -> Reply.ok(CHAT_REPLY).delayed(3000))) {
      OpenAiClient client = new OpenAiClient(server.model("smol", ""), settings(Duration.ofMillis(300), 3, 4), Map.of());
      long t0 = System.nanoTime();
      Throwable t = failure(client.chat(List.of(ChatMessage.user("hi")), GenerationSettings.greedy(8)));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms < 2500, "failed after " + ms + " ms");
      assertEquals(1, server.requests().size()); // a timeout is not retried
      assertTrue(t.getMessage().endsWith("POST /chat/completions: no response within 300 ms "
          + "(cai.remote.request-timeout)"), t.getMessage());
    }
  }

  @Test
  void shouldRetryConnectionFailuresThenFailNamingThem() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // closed again: nothing listens there
    }
    OpenAiClient client = new OpenAiClient(RemoteModel.parse("openai:http://127.0.0.1:" + port + "/v1#smol"),
        settings(Duration.ofSeconds(2), 2, 4), Map.of());
    Throwable t = failure(client.chat(List.of(ChatMessage.user("hi")), GenerationSettings.greedy(8)));
    assertTrue(t.getMessage().startsWith("remote model openai:http://127.0.0.1:" + port + "/v1#smol: POST "
        + "/chat/completions: connection failed: ConnectException"), t.getMessage());
    assertTrue(t.getMessage().endsWith("(after 3 attempts, cai.remote.max-retries = 2)"), t.getMessage());
  }

  @Test
  void shouldKeepRequestsInFlightWithinMaxConcurrency() throws Exception {
    try (StubOpenAiServer server = new StubOpenAiServer((r, n) -> Reply.ok(CHAT_REPLY).delayed(150))) {
      OpenAiClient client = new OpenAiClient(server.model("smol", ""), settings(Duration.ofSeconds(5), 0, 3), Map.of());
      List<CompletableFuture<Completion>> all = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        all.add(client.chat(List.of(ChatMessage.user("q" + i)), GenerationSettings.greedy(8)));
      }
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
      assertEquals(12, server.requests().size());
      assertEquals(3, server.maxInFlight());
    }
  }

  @Test
  void shouldSendTheApiKeyAsABearerTokenAndNeverShowIt() throws Exception {
    try (StubOpenAiServer server = new StubOpenAiServer((r, n) -> Reply.status(401,
        "{\"error\": {\"message\": \"invalid key\"}}"))) {
      RemoteModel m = server.model("smol", "?api-key-env=MY_VLLM_KEY");
      OpenAiClient client = new OpenAiClient(m, fast(), Map.of("MY_VLLM_KEY", "sk-secret-123",
          RemoteModel.DEFAULT_KEY_ENV, "sk-other"));
      Throwable t = failure(client.chat(List.of(ChatMessage.user("hi")), GenerationSettings.greedy(8)));
      assertEquals("Bearer sk-secret-123", server.requests().get(0).headers().getFirst("Authorization"));
      assertEquals(1, server.requests().size()); // 401 is not retried
      assertFalse(t.getMessage().contains("sk-secret"), t.getMessage());
      assertFalse(m.toString().contains("sk-secret"));
      assertTrue(t.getMessage().contains("HTTP 401: invalid key"), t.getMessage());
    }
  }

  @Test
  void shouldSendTheDefaultApiKeyWhenTheSpecNamesNone() throws Exception {
    try (StubOpenAiServer server = new StubOpenAiServer((r, n) -> Reply.ok(CHAT_REPLY))) {
      OpenAiClient client = new OpenAiClient(server.model("smol", ""), fast(), Map.of(RemoteModel.DEFAULT_KEY_ENV, "sk-d"));
      client.chat(List.of(ChatMessage.user("hi")), GenerationSettings.greedy(8)).get(10, TimeUnit.SECONDS);
      assertEquals("Bearer sk-d", server.requests().get(0).headers().getFirst("Authorization"));
    }
  }
}
