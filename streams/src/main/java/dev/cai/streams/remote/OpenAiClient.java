package dev.cai.streams.remote;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.cai.actors.Completion;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.tokenizer.ChatMessage;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/**
 * A client of one model on an OpenAI-compatible HTTP server: chat completions ({@code POST BASE_URL/chat/completions})
 * for sampled replies, and prompt log-probabilities ({@code POST BASE_URL/completions} with {@code echo: true,
 * max_tokens: 0, logprobs: 1}) for log p(option | context), see {@link PromptLogProbs}. Every call returns a future
 * that completes, one way or the other, within a bounded time: each attempt has {@link RemoteSettings#requestTimeout},
 * connection failures, HTTP 429 and 5xx are retried at most {@link RemoteSettings#maxRetries} times with exponential
 * backoff, other 4xx fail at once, and at most {@link RemoteSettings#maxConcurrency} requests are in flight. A failed
 * call completes exceptionally with a {@link RemoteModelException} naming the model, endpoint and cause (never the
 * API key).
 */
public final class OpenAiClient {
  static final String CHAT = "chat/completions";
  static final String COMPLETIONS = "completions";

  private final RemoteModel model;
  private final RemoteSettings settings;
  private final Optional<String> apiKey;
  private final HttpClient http;
  private final AsyncPermits permits;

  /** A client for {@code model}; its API key is read from {@code env} (see {@link RemoteModel#apiKey}). */
  public OpenAiClient(RemoteModel model, RemoteSettings settings, Map<String, String> env) {
    this.model = model;
    this.settings = settings;
    this.apiKey = model.apiKey(env);
    this.http = HttpClient.newBuilder().connectTimeout(settings.connectTimeout()).version(HttpClient.Version.HTTP_1_1)
        .build();
    this.permits = new AsyncPermits(settings.maxConcurrency());
  }

  /** A client whose API key comes from the process environment. */
  public OpenAiClient(RemoteModel model, RemoteSettings settings) {
    this(model, settings, System.getenv());
  }

  public RemoteModel model() {
    return model;
  }

  /** The assistant's reply to {@code messages}, sampled with {@code sampling} (its seed reduced to 31 bits). */
  public CompletableFuture<Completion> chat(List<ChatMessage> messages, GenerationSettings sampling) {
    return post(CHAT, chatBody(messages, sampling)).thenApply(this::completion);
  }

  /** log p(option | context) and the token counts, from the prompt log-probs of {@code context + option}. */
  public CompletableFuture<PromptLogProbs.Scored> logProb(String context, String option) {
    return post(COMPLETIONS, echoBody(context + option)).thenApply(r -> scored(r, option));
  }

  JsonObject chatBody(List<ChatMessage> messages, GenerationSettings s) {
    JsonObject body = new JsonObject();
    body.addProperty("model", model.model());
    JsonArray ms = new JsonArray();
    for (ChatMessage m : messages) {
      JsonObject o = new JsonObject();
      o.addProperty("role", m.role());
      o.addProperty("content", m.content());
      ms.add(o);
    }
    body.add("messages", ms);
    body.addProperty("max_tokens", s.maxNewTokens());
    body.addProperty("temperature", s.temperature());
    body.addProperty("top_p", s.topP());
    if (s.topK() > 0) {
      body.addProperty("top_k", s.topK()); // vLLM, llama.cpp and cai serve take it; OpenAI itself does not
    }
    body.addProperty("seed", s.seed() & 0x7FFF_FFFFL); // every server takes a non-negative 31-bit seed
    if (!s.stopStrings().isEmpty()) {
      JsonArray stop = new JsonArray();
      s.stopStrings().forEach(stop::add);
      body.add("stop", stop);
    }
    return body;
  }

  JsonObject echoBody(String prompt) {
    JsonObject body = new JsonObject();
    body.addProperty("model", model.model());
    body.addProperty("prompt", prompt);
    body.addProperty("max_tokens", 0);
    body.addProperty("echo", true);
    body.addProperty("logprobs", 1);
    body.addProperty("temperature", 0.0);
    return body;
  }

  private Completion completion(JsonObject response) {
    try {
      JsonObject choice = firstChoice(response);
      JsonObject message = choice.getAsJsonObject("message");
      JsonElement content = message == null ? null : message.get("content");
      if (content == null || !content.isJsonPrimitive()) {
        throw new IllegalArgumentException("choices[0].message.content is missing");
      }
      JsonObject usage = response.has("usage") && response.get("usage").isJsonObject() ? response.getAsJsonObject("usage")
          : new JsonObject();
      JsonElement finish = choice.get("finish_reason");
      boolean stopped = finish != null && finish.isJsonPrimitive() && finish.getAsString().equals("stop");
      return new Completion(content.getAsString(), intOr(usage, "prompt_tokens"), intOr(usage, "completion_tokens"),
          stopped);
    } catch (RuntimeException e) {
      throw failure(CHAT, "unexpected response: " + e.getMessage(), e);
    }
  }

  private PromptLogProbs.Scored scored(JsonObject response, String option) {
    JsonObject logprobs;
    try {
      JsonElement lp = firstChoice(response).get("logprobs");
      logprobs = lp != null && lp.isJsonObject() ? lp.getAsJsonObject() : null;
    } catch (RuntimeException e) {
      throw failure(COMPLETIONS, "unexpected response: " + e.getMessage(), e);
    }
    if (logprobs == null || !logprobs.has("token_logprobs") || !logprobs.has("text_offset") || !logprobs.has("tokens")) {
      throw failure(COMPLETIONS, "the server returned no prompt log-probs (choices[0].logprobs with tokens, "
          + "token_logprobs and text_offset); scoring options needs a server whose /completions takes echo: true, "
          + "max_tokens: 0, logprobs: 1 (vLLM and cai serve do; llama.cpp's server does not)", null);
    }
    try {
      List<String> tokens = new ArrayList<>();
      List<Double> lps = new ArrayList<>();
      List<Integer> offsets = new ArrayList<>();
      logprobs.getAsJsonArray("tokens").forEach(t -> tokens.add(t.getAsString()));
      logprobs.getAsJsonArray("token_logprobs").forEach(t -> lps.add(t.isJsonNull() ? null : t.getAsDouble()));
      logprobs.getAsJsonArray("text_offset").forEach(t -> offsets.add(t.getAsInt()));
      JsonObject usage = response.has("usage") && response.get("usage").isJsonObject() ? response.getAsJsonObject("usage")
          : new JsonObject();
      return PromptLogProbs.optionLogProb(tokens, lps, offsets, intOr(usage, "completion_tokens"), option);
    } catch (RuntimeException e) {
      throw failure(COMPLETIONS, "cannot read the option's prompt log-probs: " + e.getMessage(), e);
    }
  }

  private static JsonObject firstChoice(JsonObject response) {
    JsonElement choices = response.get("choices");
    if (choices == null || !choices.isJsonArray() || choices.getAsJsonArray().isEmpty()
        || !choices.getAsJsonArray().get(0).isJsonObject()) {
      throw new IllegalArgumentException("no choices[0]");
    }
    return choices.getAsJsonArray().get(0).getAsJsonObject();
  }

  private static int intOr(JsonObject o, String key) {
    JsonElement e = o.get(key);
    return e != null && e.isJsonPrimitive() ? e.getAsInt() : 0;
  }

  /** POSTs {@code body} to {@code path} once a concurrency permit is free, retrying as the settings say. */
  CompletableFuture<JsonObject> post(String path, JsonObject body) {
    String json = body.toString();
    return permits.run(() -> attempt(path, json, 0));
  }

  private CompletableFuture<JsonObject> attempt(String path, String json, int retry) {
    HttpRequest.Builder b = HttpRequest.newBuilder(model.endpoint(path)).timeout(settings.requestTimeout())
        .header("Content-Type", "application/json").header("Accept", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json));
    apiKey.ifPresent(k -> b.header("Authorization", "Bearer " + k));
    return http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString())
        .handle((response, error) -> error != null ? onError(path, json, retry, unwrap(error))
            : onResponse(path, json, retry, response))
        .thenCompose(f -> f);
  }

  private CompletableFuture<JsonObject> onError(String path, String json, int retry, Throwable error) {
    if (error instanceof HttpTimeoutException && !(error instanceof HttpConnectTimeoutException)) {
      return CompletableFuture.failedFuture(failure(path, "no response within " + settings.requestTimeout().toMillis()
          + " ms (cai.remote.request-timeout)", error));
    }
    String what = error instanceof HttpConnectTimeoutException ? "could not connect within "
        + settings.connectTimeout().toMillis() + " ms (cai.remote.connect-timeout)"
        : error instanceof IOException ? "connection failed: " + describe(error) : describe(error);
    if (!(error instanceof IOException)) {
      return CompletableFuture.failedFuture(failure(path, what, error));
    }
    return retryOr(path, json, retry, Duration.ZERO, what, error);
  }

  private CompletableFuture<JsonObject> onResponse(String path, String json, int retry, HttpResponse<String> r) {
    int status = r.statusCode();
    if (status / 100 == 2) {
      try {
        JsonElement e = JsonParser.parseString(r.body());
        if (!e.isJsonObject()) {
          throw new JsonParseException("not a JSON object");
        }
        return CompletableFuture.completedFuture(e.getAsJsonObject());
      } catch (JsonParseException e) {
        return CompletableFuture.failedFuture(failure(path, "HTTP " + status + " with a body that is not JSON: "
            + abbreviate(r.body()), e));
      }
    }
    String what = "HTTP " + status + ": " + errorMessage(r.body());
    if (status == 429 || status / 100 == 5) {
      return retryOr(path, json, retry, retryAfter(r), what, null);
    }
    return CompletableFuture.failedFuture(failure(path, what, null));
  }

  /** Retries after the backoff (or the server's Retry-After, if longer, capped) while retries are left; else fails. */
  private CompletableFuture<JsonObject> retryOr(String path, String json, int retry, Duration retryAfter, String what,
      Throwable cause) {
    if (retry >= settings.maxRetries()) {
      return CompletableFuture.failedFuture(failure(path, what + " (after " + (retry + 1) + " attempt"
          + (retry == 0 ? "" : "s") + ", cai.remote.max-retries = " + settings.maxRetries() + ")", cause));
    }
    Duration backoff = settings.backoff(retry);
    long waitMs = Math.min(Math.max(backoff.toMillis(), retryAfter.toMillis()), settings.maxBackoff().toMillis());
    return CompletableFuture.supplyAsync(() -> attempt(path, json, retry + 1),
        CompletableFuture.delayedExecutor(waitMs, TimeUnit.MILLISECONDS)).thenCompose(f -> f);
  }

  private static Duration retryAfter(HttpResponse<String> r) {
    try {
      return r.headers().firstValue("Retry-After").map(v -> Duration.ofSeconds(Long.parseLong(v.trim())))
          .orElse(Duration.ZERO);
    } catch (NumberFormatException e) {
      return Duration.ZERO; // an HTTP date: the backoff applies
    }
  }

  /** The server's error message: OpenAI's {@code error.message}, vLLM's {@code message}, else the body abbreviated. */
  static String errorMessage(String body) {
    try {
      JsonElement e = JsonParser.parseString(body);
      if (e.isJsonObject()) {
        JsonObject o = e.getAsJsonObject();
        JsonElement err = o.get("error");
        if (err != null && err.isJsonObject() && err.getAsJsonObject().has("message")) {
          return abbreviate(err.getAsJsonObject().get("message").getAsString());
        }
        if (err != null && err.isJsonPrimitive()) {
          return abbreviate(err.getAsString());
        }
        if (o.has("message") && o.get("message").isJsonPrimitive()) {
          return abbreviate(o.get("message").getAsString());
        }
      }
    } catch (JsonParseException | IllegalStateException | UnsupportedOperationException e) {
      // not JSON: show the text
    }
    return body.isBlank() ? "(empty body)" : abbreviate(body);
  }

  private RemoteModelException failure(String path, String what, Throwable cause) {
    return new RemoteModelException("remote model " + model.id() + ": POST /" + path + ": " + what, cause);
  }

  private static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static String describe(Throwable t) {
    return t.getMessage() == null || t.getMessage().isBlank() ? t.getClass().getSimpleName()
        : t.getClass().getSimpleName() + ": " + t.getMessage();
  }

  private static String abbreviate(String s) {
    String one = s.strip().replace("\n", " ");
    return one.length() <= 300 ? one : one.substring(0, 297) + "...";
  }
}
