package dev.cai.app;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import dev.cai.actors.CompletionReply.Alternative;
import dev.cai.actors.CompletionReply.Completed;
import dev.cai.actors.CompletionReply.TokenLogProbs;
import dev.cai.runtime.generate.FinishReason;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;

/** Writes the JSON bodies of the OpenAI-compatible API ({@code cai serve}): model list, completions, chat completions. */
final class OpenAiResponses {
  private OpenAiResponses() {}

  /** {@code GET /v1/models}: the one model served. */
  static JsonObject models(String modelId, long created) {
    JsonArray data = new JsonArray();
    data.add(model(modelId, created));
    JsonObject o = new JsonObject();
    o.addProperty("object", "list");
    o.add("data", data);
    return o;
  }

  /** {@code GET /v1/models/ID}. */
  static JsonObject model(String modelId, long created) {
    JsonObject m = new JsonObject();
    m.addProperty("id", modelId);
    m.addProperty("object", "model");
    m.addProperty("created", created);
    m.addProperty("owned_by", "cai");
    return m;
  }

  /** {@code POST /v1/completions}: one choice per prompt, with the legacy logprobs object when asked for. */
  static JsonObject completion(String modelId, List<Completed> choices) {
    JsonArray cs = new JsonArray();
    for (int i = 0; i < choices.size(); i++) {
      Completed c = choices.get(i);
      JsonObject choice = new JsonObject();
      choice.addProperty("index", i);
      choice.addProperty("text", c.text());
      choice.add("logprobs", c.logprobs().map(OpenAiResponses::legacyLogProbs).map(o -> (com.google.gson.JsonElement) o)
          .orElse(JsonNull.INSTANCE));
      choice.addProperty("finish_reason", finishReason(c.finishReason()));
      cs.add(choice);
    }
    return envelope("cmpl-", "text_completion", modelId, cs, choices);
  }

  /** {@code POST /v1/chat/completions}: the assistant's message, with per-token logprobs when {@code topLogprobs >= 0}. */
  static JsonObject chat(String modelId, Completed c, int topLogprobs) {
    JsonObject message = new JsonObject();
    message.addProperty("role", "assistant");
    message.addProperty("content", c.text());
    JsonObject choice = new JsonObject();
    choice.addProperty("index", 0);
    choice.add("message", message);
    choice.add("logprobs", c.logprobs().map(lp -> (com.google.gson.JsonElement) chatLogProbs(lp, topLogprobs))
        .orElse(JsonNull.INSTANCE));
    choice.addProperty("finish_reason", finishReason(c.finishReason()));
    JsonArray cs = new JsonArray();
    cs.add(choice);
    return envelope("chatcmpl-", "chat.completion", modelId, cs, List.of(c));
  }

  private static JsonObject envelope(String idPrefix, String object, String modelId, JsonArray choices,
      List<Completed> completions) {
    int prompt = completions.stream().mapToInt(Completed::promptTokens).sum();
    int completion = completions.stream().mapToInt(Completed::completionTokens).sum();
    JsonObject usage = new JsonObject();
    usage.addProperty("prompt_tokens", prompt);
    usage.addProperty("completion_tokens", completion);
    usage.addProperty("total_tokens", prompt + completion);
    JsonObject o = new JsonObject();
    o.addProperty("id", idPrefix + UUID.randomUUID().toString().replace("-", ""));
    o.addProperty("object", object);
    o.addProperty("created", System.currentTimeMillis() / 1000);
    o.addProperty("model", modelId);
    o.add("choices", choices);
    o.add("usage", usage);
    return o;
  }

  /** "stop" when EOS or a stop string ended the text, "length" when max_tokens did. */
  static String finishReason(FinishReason r) {
    return r == FinishReason.LENGTH ? "length" : "stop";
  }

  /** OpenAI's legacy {@code logprobs}: parallel lists tokens, token_logprobs, top_logprobs (dicts), text_offset. */
  private static JsonObject legacyLogProbs(TokenLogProbs lp) {
    JsonArray tokens = new JsonArray();
    JsonArray logprobs = new JsonArray();
    JsonArray top = new JsonArray();
    JsonArray offsets = new JsonArray();
    for (int i = 0; i < lp.tokens().size(); i++) {
      tokens.add(lp.tokens().get(i));
      Float v = lp.tokenLogProbs().get(i);
      if (v == null) {
        logprobs.add(JsonNull.INSTANCE);
      } else {
        logprobs.add(v);
      }
      List<Alternative> alternatives = lp.top().get(i);
      if (alternatives == null) {
        top.add(JsonNull.INSTANCE);
      } else {
        JsonObject dict = new JsonObject();
        for (Alternative a : alternatives) {
          if (!dict.has(a.token())) { // two ids that decode alike: the likelier one
            dict.addProperty(a.token(), a.logProb());
          }
        }
        top.add(dict);
      }
      offsets.add(lp.textOffsets().get(i));
    }
    JsonObject o = new JsonObject();
    o.add("tokens", tokens);
    o.add("token_logprobs", logprobs);
    o.add("top_logprobs", top);
    o.add("text_offset", offsets);
    return o;
  }

  /**
   * Chat's {@code logprobs.content}: per token its text, log-prob, the UTF-8 bytes of that text and its {@code k}
   * likeliest tokens (a list: two tokens may decode alike, e.g. the parts of a multi-byte character as U+FFFD).
   */
  private static JsonObject chatLogProbs(TokenLogProbs lp, int k) {
    JsonArray content = new JsonArray();
    for (int i = 0; i < lp.tokens().size(); i++) {
      List<Alternative> alternatives = lp.top().get(i);
      JsonObject t = entry(lp.tokens().get(i), lp.tokenLogProbs().get(i));
      JsonArray top = new JsonArray();
      for (int a = 0; a < Math.min(k, alternatives.size()); a++) {
        top.add(entry(alternatives.get(a).token(), alternatives.get(a).logProb()));
      }
      t.add("top_logprobs", top);
      content.add(t);
    }
    JsonObject o = new JsonObject();
    o.add("content", content);
    return o;
  }

  private static JsonObject entry(String token, float logProb) {
    JsonObject o = new JsonObject();
    o.addProperty("token", token);
    o.addProperty("logprob", logProb);
    JsonArray bytes = new JsonArray();
    for (byte b : token.getBytes(StandardCharsets.UTF_8)) {
      bytes.add(b & 0xff);
    }
    o.add("bytes", bytes);
    return o;
  }
}
