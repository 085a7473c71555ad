package dev.cai.app;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.cai.actors.CompletionRequest;
import dev.cai.runtime.tokenizer.ChatMessage;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;

/**
 * Reads the JSON bodies of {@code POST /v1/completions} and {@code POST /v1/chat/completions} into
 * {@link CompletionRequest}s, validating every field as OpenAI's API documents it; a field this server does not know,
 * or a value it cannot honour (n &gt; 1, streaming, penalties), is refused with an {@link ApiError} naming the field.
 */
final class OpenAiRequests {
  /** Most alternatives per token: 5 for completions (OpenAI's limit), 20 for chat. */
  static final int MAX_COMPLETION_LOGPROBS = 5;
  static final int MAX_CHAT_TOP_LOGPROBS = 20;
  /** Most stop strings in one request. */
  static final int MAX_STOPS = 16;

  private static final Set<String> SHARED = Set.of("model", "max_tokens", "temperature", "top_p", "top_k", "seed", "n",
      "stop", "stream", "user", "presence_penalty", "frequency_penalty", "logit_bias");
  private static final Set<String> COMPLETION = union(SHARED, Set.of("prompt", "logprobs", "echo", "best_of", "suffix"));
  private static final Set<String> CHAT = union(SHARED, Set.of("messages", "max_completion_tokens", "logprobs",
      "top_logprobs"));
  private static final Set<String> ROLES = Set.of(ChatMessage.SYSTEM, ChatMessage.USER, ChatMessage.ASSISTANT, "developer");

  private OpenAiRequests() {}

  /** The requests of one HTTP call: one per prompt (choice), in order. */
  record Call(List<CompletionRequest> requests, int logprobs) {}

  /**
   * A completions body: one request per prompt.
   *
   * @param maxPrompts most prompts in one call
   * @param randomSeed the seed of a request that gives none
   */
  static Call completions(String body, String modelId, int maxPrompts, LongSupplier randomSeed) {
    JsonObject o = object(body, COMPLETION, modelId);
    unsupported(o);
    if (!isNull(o, "best_of") && integer(o, "best_of", 1, 1, 1) != 1) {
      throw ApiError.invalid("best_of", "best_of must be 1");
    }
    if (!isNull(o, "suffix")) {
      throw ApiError.invalid("suffix", "suffix is not supported");
    }
    List<String> prompts = prompts(o.get("prompt"), maxPrompts);
    int maxTokens = integer(o, "max_tokens", 16, 0, Integer.MAX_VALUE);
    int logprobs = isNull(o, "logprobs") ? -1 : integer(o, "logprobs", 0, 0, MAX_COMPLETION_LOGPROBS);
    boolean echo = bool(o, "echo", false);
    Sampling s = sampling(o, randomSeed);
    List<CompletionRequest> requests = new ArrayList<>();
    for (String p : prompts) {
      requests.add(new CompletionRequest(new CompletionRequest.Text(p), maxTokens, s.temperature(), s.topP(), s.topK(),
          s.seed(), s.stop(), logprobs, echo));
    }
    return new Call(List.copyOf(requests), logprobs);
  }

  /**
   * A chat completions body: one request.
   *
   * @param defaultMaxTokens max_tokens when the body gives neither it nor max_completion_tokens
   */
  static Call chat(String body, String modelId, int defaultMaxTokens, LongSupplier randomSeed) {
    JsonObject o = object(body, CHAT, modelId);
    unsupported(o);
    List<ChatMessage> messages = messages(o.get("messages"));
    if (!isNull(o, "max_tokens") && !isNull(o, "max_completion_tokens")) {
      throw ApiError.invalid("max_completion_tokens", "give max_tokens or max_completion_tokens, not both");
    }
    String maxKey = isNull(o, "max_completion_tokens") ? "max_tokens" : "max_completion_tokens";
    int maxTokens = integer(o, maxKey, defaultMaxTokens, 1, Integer.MAX_VALUE);
    boolean logprobs = bool(o, "logprobs", false);
    int top = isNull(o, "top_logprobs") ? 0 : integer(o, "top_logprobs", 0, 0, MAX_CHAT_TOP_LOGPROBS);
    if (!logprobs && !isNull(o, "top_logprobs")) {
      throw ApiError.invalid("top_logprobs", "top_logprobs needs logprobs: true");
    }
    Sampling s = sampling(o, randomSeed);
    int k = logprobs ? top : -1;
    return new Call(List.of(new CompletionRequest(new CompletionRequest.Chat(messages), maxTokens, s.temperature(),
        s.topP(), s.topK(), s.seed(), s.stop(), k, false)), k);
  }

  /** The sampling fields that completions and chat share. */
  private record Sampling(double temperature, double topP, int topK, long seed, List<String> stop) {}

  private static Sampling sampling(JsonObject o, LongSupplier randomSeed) {
    double temperature = number(o, "temperature", 1.0);
    if (temperature < 0) {
      throw ApiError.invalid("temperature", "temperature must be >= 0 (0 = greedy), got " + temperature);
    }
    double topP = number(o, "top_p", 1.0);
    if (!(topP > 0 && topP <= 1)) {
      throw ApiError.invalid("top_p", "top_p must be in (0, 1], got " + topP);
    }
    int topK = integer(o, "top_k", 0, -1, Integer.MAX_VALUE);
    long seed = isNull(o, "seed") ? randomSeed.getAsLong() : longValue(o, "seed");
    return new Sampling(temperature, topP, Math.max(0, topK), seed, stops(o.get("stop")));
  }

  /** Fields OpenAI has whose only value this server honours is their default. */
  private static void unsupported(JsonObject o) {
    if (bool(o, "stream", false)) {
      throw ApiError.invalid("stream", "streaming is not supported: send stream: false or leave it out");
    }
    if (!isNull(o, "n") && integer(o, "n", 1, 1, Integer.MAX_VALUE) != 1) {
      throw ApiError.invalid("n", "n must be 1: send one request per sample");
    }
    for (String penalty : List.of("presence_penalty", "frequency_penalty")) {
      if (!isNull(o, penalty) && number(o, penalty, 0) != 0) {
        throw ApiError.invalid(penalty, penalty + " is not supported (only 0)");
      }
    }
    JsonElement bias = o.get("logit_bias");
    if (bias != null && !bias.isJsonNull() && !(bias.isJsonObject() && bias.getAsJsonObject().isEmpty())) {
      throw ApiError.invalid("logit_bias", "logit_bias is not supported");
    }
    if (!isNull(o, "user")) {
      string(o.get("user"), "user");
    }
  }

  /** The body as a JSON object whose fields are all known, for this server's model. */
  private static JsonObject object(String body, Set<String> fields, String modelId) {
    JsonElement e;
    try {
      JsonReader r = new JsonReader(new StringReader(body));
      r.setStrictness(Strictness.STRICT);
      e = JsonParser.parseReader(r);
      if (r.peek() != JsonToken.END_DOCUMENT) {
        throw ApiError.invalid(null, "the body is not valid JSON: more text after the first value");
      }
    } catch (JsonParseException | IOException | IllegalStateException ex) {
      throw ApiError.invalid(null, "the body is not valid JSON: " + ex.getMessage());
    }
    if (!e.isJsonObject()) {
      throw ApiError.invalid(null, "the body must be a JSON object");
    }
    JsonObject o = e.getAsJsonObject();
    for (String key : o.keySet()) {
      if (!fields.contains(key)) {
        throw ApiError.invalid(key, "unknown field '" + key + "'");
      }
    }
    if (!isNull(o, "model")) {
      String model = string(o.get("model"), "model");
      if (!model.equals(modelId)) {
        throw new ApiError(404, "the model '" + model + "' does not exist; this server serves '" + modelId + "'",
            ApiError.INVALID_REQUEST, "model", "model_not_found");
      }
    }
    return o;
  }

  private static List<String> prompts(JsonElement e, int maxPrompts) {
    if (e == null || e.isJsonNull()) {
      throw ApiError.invalid("prompt", "prompt is required: a string or a list of strings");
    }
    if (e.isJsonArray()) {
      JsonArray a = e.getAsJsonArray();
      if (a.isEmpty()) {
        throw ApiError.invalid("prompt", "prompt is an empty list");
      }
      if (a.size() > maxPrompts) {
        throw ApiError.invalid("prompt", a.size() + " prompts in one request; at most " + maxPrompts
            + " (cai.serve.max-prompts-per-request)");
      }
      List<String> out = new ArrayList<>();
      for (JsonElement p : a) {
        if (p.isJsonPrimitive() && p.getAsJsonPrimitive().isNumber() || p.isJsonArray()) {
          throw ApiError.invalid("prompt", "token-id prompts are not supported: send text");
        }
        out.add(string(p, "prompt"));
      }
      return out;
    }
    return List.of(string(e, "prompt"));
  }

  private static List<String> stops(JsonElement e) {
    if (e == null || e.isJsonNull()) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    if (e.isJsonArray()) {
      if (e.getAsJsonArray().size() > MAX_STOPS) {
        throw ApiError.invalid("stop", "at most " + MAX_STOPS + " stop strings");
      }
      e.getAsJsonArray().forEach(s -> out.add(string(s, "stop")));
    } else {
      out.add(string(e, "stop"));
    }
    if (out.stream().anyMatch(String::isEmpty)) {
      throw ApiError.invalid("stop", "stop strings must not be empty");
    }
    return out;
  }

  private static List<ChatMessage> messages(JsonElement e) {
    if (e == null || e.isJsonNull() || !e.isJsonArray() || e.getAsJsonArray().isEmpty()) {
      throw ApiError.invalid("messages", "messages is required: a non-empty list of {\"role\", \"content\"}");
    }
    List<ChatMessage> out = new ArrayList<>();
    JsonArray a = e.getAsJsonArray();
    for (int i = 0; i < a.size(); i++) {
      String where = "messages[" + i + "]";
      if (!a.get(i).isJsonObject()) {
        throw ApiError.invalid(where, where + " must be an object {\"role\", \"content\"}");
      }
      JsonObject m = a.get(i).getAsJsonObject();
      for (String key : m.keySet()) {
        if (!Set.of("role", "content", "name").contains(key)) {
          throw ApiError.invalid(where + "." + key, "unknown field '" + key + "' in " + where);
        }
      }
      String role = string(m.get("role"), where + ".role");
      if (!ROLES.contains(role)) {
        throw ApiError.invalid(where + ".role", "role '" + role + "' is not one of system, user, assistant");
      }
      out.add(new ChatMessage(role.equals("developer") ? ChatMessage.SYSTEM : role, content(m.get("content"), where)));
    }
    return out;
  }

  /** A message's text: a string, or a list of {@code {"type": "text", "text": ...}} parts joined. */
  private static String content(JsonElement e, String where) {
    if (e != null && e.isJsonArray()) {
      StringBuilder sb = new StringBuilder();
      for (JsonElement part : e.getAsJsonArray()) {
        if (!part.isJsonObject() || !"text".equals(optString(part.getAsJsonObject().get("type")))) {
          throw ApiError.invalid(where + ".content", "only text content parts {\"type\": \"text\", \"text\": ...} are "
              + "supported");
        }
        sb.append(string(part.getAsJsonObject().get("text"), where + ".content.text"));
      }
      return sb.toString();
    }
    return string(e, where + ".content");
  }

  private static boolean isNull(JsonObject o, String key) {
    return !o.has(key) || o.get(key).isJsonNull();
  }

  private static String optString(JsonElement e) {
    return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() ? e.getAsString() : null;
  }

  private static String string(JsonElement e, String param) {
    String s = optString(e);
    if (s == null) {
      throw ApiError.invalid(param, param + " must be a string");
    }
    return s;
  }

  private static boolean bool(JsonObject o, String key, boolean absent) {
    if (isNull(o, key)) {
      return absent;
    }
    JsonElement e = o.get(key);
    if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
      throw ApiError.invalid(key, key + " must be true or false");
    }
    return e.getAsBoolean();
  }

  private static double number(JsonObject o, String key, double absent) {
    if (isNull(o, key)) {
      return absent;
    }
    double v = numeric(o.get(key), key).doubleValue();
    if (!Double.isFinite(v)) {
      throw ApiError.invalid(key, key + " must be a finite number");
    }
    return v;
  }

  private static int integer(JsonObject o, String key, int absent, int min, int max) {
    if (isNull(o, key)) {
      return absent;
    }
    long v = longValue(o, key);
    if (v < min || v > max) {
      throw ApiError.invalid(key, key + " must be " + (max == Integer.MAX_VALUE ? ">= " + min
          : "in " + min + ".." + max) + ", got " + v);
    }
    return (int) v;
  }

  private static long longValue(JsonObject o, String key) {
    BigDecimal d = numeric(o.get(key), key);
    try {
      return d.stripTrailingZeros().scale() > 0 ? fail(key) : d.longValueExact();
    } catch (ArithmeticException e) {
      return fail(key);
    }
  }

  private static long fail(String key) {
    throw ApiError.invalid(key, key + " must be an integer");
  }

  private static BigDecimal numeric(JsonElement e, String key) {
    if (!e.isJsonPrimitive() || !((JsonPrimitive) e).isNumber()) {
      throw ApiError.invalid(key, key + " must be a number");
    }
    return e.getAsBigDecimal();
  }

  /** A seed for a request that gives none. */
  static long randomSeed() {
    return ThreadLocalRandom.current().nextLong();
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    java.util.HashSet<String> u = new java.util.HashSet<>(a);
    u.addAll(b);
    return Set.copyOf(u);
  }
}
