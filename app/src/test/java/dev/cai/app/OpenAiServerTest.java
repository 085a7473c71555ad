package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.typesafe.config.ConfigFactory;
import dev.cai.runtime.generate.ContinuationScorer;
import dev.cai.runtime.generate.GeneratedSequence;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.generate.Generator;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.weights.LoadedModel;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cai serve} in-process on a tiny random model, over real HTTP: answers equal the runtime's own greedy
 * generation and scoring, chats use the chat template, every bad request gets its OpenAI error, the token is required.
 */
class OpenAiServerTest {
  private static final String TOKEN = "test-token-123";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir static Path dir;
  private static ServeCommand.Running server;
  private static String base;
  private static LoadedModel reference;
  private static LlamaModel referenceModel;

  @BeforeAll
  static void start() throws Exception {
    Path model = dir.resolve("tiny.gguf");
    TinyLlama.write(model, 7, GgmlType.F32);
    OpenAiServer.Settings settings = new OpenAiServer.Settings("127.0.0.1", 0, 64 * 1024, 4, 64, 8, Duration.ofMinutes(2));
    server = ServeCommand.start(ConfigFactory.load(), model, DeviceSetting.CPU, Optional.of(TOKEN), settings);
    base = server.baseUrl();
    reference = ModelFiles.load(model);
    referenceModel = LlamaModel.create(reference.weights(), DeviceSetting.CPU);
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
    referenceModel.close();
    reference.close();
  }

  /** Status and parsed body of one request. */
  private record Reply(int status, JsonObject body, HttpResponse<String> raw) {}

  private static HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofMinutes(2))
        .header("Authorization", "Bearer " + TOKEN);
  }

  private static Reply send(HttpRequest r) throws Exception {
    HttpResponse<String> resp = HTTP.send(r, HttpResponse.BodyHandlers.ofString());
    JsonElement e = resp.body().isEmpty() ? new JsonObject() : JsonParser.parseString(resp.body());
    return new Reply(resp.statusCode(), e.getAsJsonObject(), resp);
  }

  private static Reply post(String path, String json) throws Exception {
    return send(request(path).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)).build());
  }

  private static GeneratedSequence greedy(int[] prompt, int maxTokens) {
    return new Generator(referenceModel).generate(List.of(prompt), GenerationSettings.greedy(maxTokens),
        t -> reference.tokenizer().decode(t, true)).sequences().get(0);
  }

  @Test
  void shouldListTheServedModel() throws Exception {
    Reply r = send(request("/models").GET().build());
    assertEquals(200, r.status());
    assertEquals("list", r.body().get("object").getAsString());
    JsonArray data = r.body().getAsJsonArray("data");
    assertEquals(1, data.size());
    assertEquals("tiny", data.get(0).getAsJsonObject().get("id").getAsString());
    assertEquals("model", data.get(0).getAsJsonObject().get("object").getAsString());
    assertEquals("cai", data.get(0).getAsJsonObject().get("owned_by").getAsString());
    assertEquals(200, send(request("/models/tiny").GET().build()).status());
    Reply other = send(request("/models/gpt-4").GET().build());
    assertEquals(404, other.status());
    assertEquals("model_not_found", error(other).get("code").getAsString());
  }

  @Test
  void shouldCompleteGreedilyTokenForTokenLikeTheRuntime() throws Exception {
    String prompt = "the cat and the dog";
    GeneratedSequence want = greedy(reference.tokenizer().encode(prompt), 12);
    Reply r = post("/completions", "{\"model\": \"tiny\", \"prompt\": \"the cat and the dog\", \"max_tokens\": 12, "
        + "\"temperature\": 0, \"logprobs\": 2}");
    assertEquals(200, r.status(), r.body().toString());
    assertEquals("text_completion", r.body().get("object").getAsString());
    assertTrue(r.body().get("id").getAsString().startsWith("cmpl-"));
    JsonObject choice = r.body().getAsJsonArray("choices").get(0).getAsJsonObject();
    assertEquals(want.text(), choice.get("text").getAsString());
    assertEquals(want.finishReason() == dev.cai.runtime.generate.FinishReason.LENGTH ? "length" : "stop",
        choice.get("finish_reason").getAsString());
    JsonObject usage = r.body().getAsJsonObject("usage");
    assertEquals(reference.tokenizer().encode(prompt).length, usage.get("prompt_tokens").getAsInt());
    assertEquals(want.tokens().length, usage.get("completion_tokens").getAsInt());
    assertEquals(usage.get("prompt_tokens").getAsInt() + want.tokens().length, usage.get("total_tokens").getAsInt());
    JsonObject lp = choice.getAsJsonObject("logprobs");
    JsonArray tokens = lp.getAsJsonArray("tokens");
    assertEquals(want.tokens().length, tokens.size());
    StringBuilder joined = new StringBuilder();
    for (int j = 0; j < tokens.size(); j++) {
      joined.append(tokens.get(j).getAsString());
      // greedy: log_softmax at temperature 1, the generator's own number
      assertEquals(want.logProbs()[j], lp.getAsJsonArray("token_logprobs").get(j).getAsFloat(), 1e-4f);
      JsonObject top = lp.getAsJsonArray("top_logprobs").get(j).getAsJsonObject();
      assertTrue(top.size() >= 1 && top.size() <= 2, top.toString());
      float best = top.entrySet().stream().map(e -> e.getValue().getAsFloat()).max(Float::compare).orElseThrow();
      assertEquals(want.logProbs()[j], best, 1e-4f, "the greedy token is the likeliest");
    }
    assertEquals(want.text(), joined.toString());
    assertEquals(0, lp.getAsJsonArray("text_offset").get(0).getAsInt());
  }

  @Test
  void shouldEchoEveryPromptTokensLogProbWithMaxTokensZero() throws Exception {
    String prompt = "Which is kinder?\n(A) a hug\n(B) a shove\nThe answer is: (A)";
    int[] ids = reference.tokenizer().encode(prompt);
    float[] want = new ContinuationScorer(referenceModel).tokenLogProbs(List.of(new int[] {ids[0]}),
        List.of(Arrays.copyOfRange(ids, 1, ids.length)), 1.0).get(0);
    JsonObject body = new JsonObject();
    body.addProperty("model", "tiny");
    body.addProperty("prompt", prompt);
    body.addProperty("max_tokens", 0);
    body.addProperty("echo", true);
    body.addProperty("logprobs", 1);
    body.addProperty("temperature", 0);
    Reply r = post("/completions", body.toString());
    assertEquals(200, r.status(), r.body().toString());
    JsonObject choice = r.body().getAsJsonArray("choices").get(0).getAsJsonObject();
    assertEquals(prompt, choice.get("text").getAsString());
    assertEquals("length", choice.get("finish_reason").getAsString());
    assertEquals(0, r.body().getAsJsonObject("usage").get("completion_tokens").getAsInt());
    JsonObject lp = choice.getAsJsonObject("logprobs");
    JsonArray tokens = lp.getAsJsonArray("tokens");
    JsonArray lps = lp.getAsJsonArray("token_logprobs");
    JsonArray offsets = lp.getAsJsonArray("text_offset");
    assertEquals(ids.length, tokens.size());
    assertTrue(lps.get(0).isJsonNull());
    assertTrue(lp.getAsJsonArray("top_logprobs").get(0).isJsonNull());
    int offset = 0;
    for (int j = 0; j < ids.length; j++) {
      if (j > 0) {
        assertEquals(want[j - 1], lps.get(j).getAsFloat(), 1e-5f, "prompt token " + j);
      }
      assertEquals(offset, offsets.get(j).getAsInt());
      offset += tokens.get(j).getAsString().length(); // ASCII: code points = chars
    }
    assertEquals(prompt.length(), offset);
  }

  @Test
  void shouldAnswerEachPromptOfAListAsItsOwnChoice() throws Exception {
    Reply r = post("/completions", "{\"prompt\": [\"the cat\", \"and the dog\"], \"max_tokens\": 5, \"temperature\": 0, "
        + "\"stop\": [\"\\u0000never\"]}");
    assertEquals(200, r.status(), r.body().toString());
    JsonArray choices = r.body().getAsJsonArray("choices");
    assertEquals(2, choices.size());
    int total = 0;
    for (int i = 0; i < 2; i++) {
      String p = i == 0 ? "the cat" : "and the dog";
      assertEquals(i, choices.get(i).getAsJsonObject().get("index").getAsInt());
      assertEquals(greedy(reference.tokenizer().encode(p), 5).text(), choices.get(i).getAsJsonObject().get("text")
          .getAsString());
      total += reference.tokenizer().encode(p).length;
      assertTrue(choices.get(i).getAsJsonObject().get("logprobs").isJsonNull());
    }
    assertEquals(total, r.body().getAsJsonObject("usage").get("prompt_tokens").getAsInt());
  }

  @Test
  void shouldRenderChatMessagesWithTheModelsChatTemplate() throws Exception {
    List<ChatMessage> chat = List.of(ChatMessage.system("Be brief."), ChatMessage.user("Say hi."));
    int[] ids = reference.tokenizer().encode(reference.chatTemplate().render(chat, true));
    GeneratedSequence want = greedy(ids, 6);
    Reply r = post("/chat/completions", "{\"model\": \"tiny\", \"messages\": [{\"role\": \"system\", \"content\": "
        + "\"Be brief.\"}, {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Say hi.\"}]}], "
        + "\"max_completion_tokens\": 6, \"temperature\": 0, \"logprobs\": true, \"top_logprobs\": 2}");
    assertEquals(200, r.status(), r.body().toString());
    assertEquals("chat.completion", r.body().get("object").getAsString());
    JsonObject choice = r.body().getAsJsonArray("choices").get(0).getAsJsonObject();
    assertEquals("assistant", choice.getAsJsonObject("message").get("role").getAsString());
    assertEquals(want.text(), choice.getAsJsonObject("message").get("content").getAsString());
    assertEquals(ids.length, r.body().getAsJsonObject("usage").get("prompt_tokens").getAsInt());
    JsonArray content = choice.getAsJsonObject("logprobs").getAsJsonArray("content");
    assertEquals(want.tokens().length, content.size());
    for (int j = 0; j < content.size(); j++) {
      JsonObject t = content.get(j).getAsJsonObject();
      assertEquals(want.logProbs()[j], t.get("logprob").getAsFloat(), 1e-4f);
      assertEquals(2, t.getAsJsonArray("top_logprobs").size());
    }
    // without a chat max_tokens the configured default applies (8 in this test's settings)
    Reply dflt = post("/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"Say hi.\"}], "
        + "\"temperature\": 0}");
    assertTrue(dflt.body().getAsJsonObject("usage").get("completion_tokens").getAsInt() <= 8);
  }

  @Test
  void shouldRefuseBadRequestsWithOpenAiErrors() throws Exception {
    Map<String, String> completions = new java.util.LinkedHashMap<>();
    completions.put("{\"prompt\": \"x\",", null);
    completions.put("[\"x\"]", null);
    completions.put("{\"prompt\": \"x\", \"max_tokens\": -1}", "max_tokens");
    completions.put("{\"prompt\": \"x\", \"max_tokens\": 1.5}", "max_tokens");
    completions.put("{\"prompt\": \"x\", \"max_tokens\": \"5\"}", "max_tokens");
    completions.put("{\"prompt\": \"x\", \"temperature\": -0.5}", "temperature");
    completions.put("{\"prompt\": \"x\", \"top_p\": 0}", "top_p");
    completions.put("{\"prompt\": \"x\", \"n\": 2}", "n");
    completions.put("{\"prompt\": \"x\", \"logprobs\": 6}", "logprobs");
    completions.put("{\"prompt\": \"x\", \"echo\": \"yes\"}", "echo");
    completions.put("{\"prompt\": \"x\", \"stream\": true}", "stream");
    completions.put("{\"prompt\": \"x\", \"stop\": [\"\"]}", "stop");
    completions.put("{\"prompt\": \"x\", \"presence_penalty\": 0.5}", "presence_penalty");
    completions.put("{\"prompt\": \"x\", \"frobnicate\": 1}", "frobnicate");
    completions.put("{\"max_tokens\": 1}", "prompt");
    completions.put("{\"prompt\": [1, 2, 3]}", "prompt");
    completions.put("{\"prompt\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}", "prompt"); // more than 4 in this test
    completions.put("{\"prompt\": \"\", \"max_tokens\": 1}", "prompt");
    completions.put("{\"prompt\": \"the cat\", \"max_tokens\": 2047}", "prompt"); // context 2048
    for (Map.Entry<String, String> c : completions.entrySet()) {
      Reply r = post("/completions", c.getKey());
      assertEquals(400, r.status(), c.getKey() + " -> " + r.body());
      JsonObject e = error(r);
      assertEquals("invalid_request_error", e.get("type").getAsString(), c.getKey());
      assertFalse(e.get("message").getAsString().isBlank());
      assertEquals(c.getValue(), e.get("param").isJsonNull() ? null : e.get("param").getAsString(), c.getKey());
    }
    assertTrue(error(post("/completions", "{\"prompt\": \"the cat\", \"max_tokens\": 2047}")).get("message").getAsString()
        .contains("maximum context length is 2048 tokens"));

    Map<String, String> chats = Map.of(
        "{\"messages\": []}", "messages",
        "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}", "messages[0].role",
        "{\"messages\": [{\"role\": \"user\", \"content\": 3}]}", "messages[0].content",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"echo\": true}", "echo",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"top_logprobs\": 2}", "top_logprobs",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 0}", "max_tokens");
    for (Map.Entry<String, String> c : chats.entrySet()) {
      Reply r = post("/chat/completions", c.getKey());
      assertEquals(400, r.status(), c.getKey() + " -> " + r.body());
      assertEquals(c.getValue(), error(r).get("param").getAsString(), c.getKey());
    }

    Reply wrongModel = post("/completions", "{\"model\": \"gpt-4\", \"prompt\": \"x\"}");
    assertEquals(404, wrongModel.status());
    assertEquals("model", error(wrongModel).get("param").getAsString());
    assertEquals("model_not_found", error(wrongModel).get("code").getAsString());

    Reply tooBig = post("/completions", "{\"prompt\": \"" + "a".repeat(70_000) + "\"}");
    assertEquals(413, tooBig.status(), tooBig.body().toString());
    assertTrue(error(tooBig).get("message").getAsString().contains("cai.serve.max-body"), tooBig.body().toString());

    Reply wrongMethod = send(request("/completions").GET().build());
    assertEquals(405, wrongMethod.status());
    assertEquals("invalid_request_error", error(wrongMethod).get("type").getAsString());
    assertEquals(404, send(request("/nothing").GET().build()).status());
  }

  @Test
  void shouldRequireTheBearerTokenOnEveryApiPath() throws Exception {
    for (String path : List.of("/models", "/completions", "/chat/completions")) {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
      HttpRequest none = path.equals("/models") ? b.GET().build()
          : b.POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"x\"}")).build();
      Reply r = send(none);
      assertEquals(401, r.status(), path);
      assertEquals("invalid_api_key", error(r).get("code").getAsString());
      assertFalse(r.raw().body().contains(TOKEN));
      assertTrue(r.raw().headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"));
    }
    HttpRequest wrong = HttpRequest.newBuilder(URI.create(base + "/models")).header("Authorization", "Bearer nope").GET()
        .build();
    assertEquals(401, send(wrong).status());
    HttpResponse<String> health = HTTP.send(HttpRequest.newBuilder(URI.create(base.replace("/v1", "/health"))).GET()
        .build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, health.statusCode());
  }

  @Test
  void shouldAnswerConcurrentRequestsAllAndEachAsIfAlone() throws Exception {
    List<String> prompts = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      prompts.add("request number " + i + " of the cat");
    }
    List<CompletableFuture<HttpResponse<String>>> futures = new ArrayList<>();
    for (String p : prompts) {
      JsonObject body = new JsonObject();
      body.addProperty("prompt", p);
      body.addProperty("max_tokens", 6);
      body.addProperty("temperature", 0);
      futures.add(HTTP.sendAsync(request("/completions").POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
          HttpResponse.BodyHandlers.ofString()));
    }
    for (int i = 0; i < prompts.size(); i++) {
      HttpResponse<String> resp = futures.get(i).get();
      assertEquals(200, resp.statusCode(), resp.body());
      String text = JsonParser.parseString(resp.body()).getAsJsonObject().getAsJsonArray("choices").get(0)
          .getAsJsonObject().get("text").getAsString();
      assertEquals(greedy(reference.tokenizer().encode(prompts.get(i)), 6).text(), text, prompts.get(i));
    }
  }

  @Test
  void shouldReadTheTokenFromTheFileOrTheEnvironmentAndNameABadFileWithoutItsContent() throws Exception {
    Path file = Files.writeString(dir.resolve("token"), "  s3cret-Token_1\n");
    assertEquals(Optional.of("s3cret-Token_1"), ServeCommand.token(file, Map.of(ServeCommand.TOKEN_ENV, "other")));
    assertEquals(Optional.of("other"), ServeCommand.token(null, Map.of(ServeCommand.TOKEN_ENV, "other")));
    assertEquals(Optional.empty(), ServeCommand.token(null, Map.of()));
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> ServeCommand.token(dir.resolve("nope"), Map.of()));
    assertTrue(missing.getMessage().contains("cannot read the token file " + dir.resolve("nope")), missing.getMessage());
    Path spaced = Files.writeString(dir.resolve("spaced"), "two words");
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> ServeCommand.token(spaced, Map.of()));
    assertFalse(bad.getMessage().contains("two words"), bad.getMessage());
    assertThrows(IllegalArgumentException.class, () -> ServeCommand.token(Files.writeString(dir.resolve("empty"), "\n"),
        Map.of()));
  }

  @Test
  void shouldValidateTheSettings() {
    OpenAiServer.Settings s = OpenAiServer.Settings.fromConfig(ConfigFactory.load().getConfig("cai.serve"));
    assertEquals("127.0.0.1", s.host());
    assertEquals(8000, s.port());
    assertThrows(IllegalArgumentException.class, () -> s.withAddress("127.0.0.1", 70000));
    assertThrows(IllegalArgumentException.class, () -> OpenAiServer.Settings.fromConfig(ConfigFactory.parseString(
        "max-in-flight = 0").withFallback(ConfigFactory.load().getConfig("cai.serve"))));
    assertThrows(IllegalArgumentException.class, () -> new OpenAiServer.Settings("h", 1, 1, 1, 1, 1, Duration.ZERO));
  }

  private static JsonObject error(Reply r) {
    return r.body().getAsJsonObject("error");
  }
}
