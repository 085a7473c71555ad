package dev.cai.runtime.io;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.cai.runtime.model.LlamaConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Reads and writes a Hugging Face Llama {@code config.json} (the keys of {@code transformers.LlamaConfig})
 * as a {@link LlamaConfig}, with the same defaults as transformers where a key is absent.
 */
public final class HfConfigJson {
  private static final Set<String> LLAMA_MODEL_TYPES = Set.of("llama");

  private HfConfigJson() {}

  /**
   * Reads {@code file}. The pad id is {@code pad_token_id} when set, else {@code tokenizerPad} when present
   * and not -1, else the EOS id (padding is always masked, so reusing EOS is safe), else -1.
   */
  public static LlamaConfig read(Path file, OptionalInt tokenizerPad) throws IOException {
    JsonObject o;
    try {
      JsonElement el = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
      if (!el.isJsonObject()) {
        throw IoErrors.invalid(file, "config is not a JSON object");
      }
      o = el.getAsJsonObject();
    } catch (JsonParseException e) {
      throw IoErrors.invalid(file, "config is not valid JSON: " + e.getMessage(), e);
    }
    try {
      return parse(o, tokenizerPad);
    } catch (IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
      throw IoErrors.invalid(file, e.getMessage(), e);
    }
  }

  /** Maps a parsed config object to a {@link LlamaConfig}; errors name the offending key. */
  static LlamaConfig parse(JsonObject o, OptionalInt tokenizerPad) {
    String modelType = optString(o, "model_type");
    if (modelType != null && !LLAMA_MODEL_TYPES.contains(modelType)) {
      throw new IllegalArgumentException("model_type '" + modelType + "' is not supported (expected llama)");
    }
    String act = optString(o, "hidden_act");
    if (act != null && !act.equals("silu")) {
      throw new IllegalArgumentException("hidden_act '" + act + "' is not supported (expected silu)");
    }
    if (optBoolean(o, "attention_bias", false) || optBoolean(o, "mlp_bias", false)) {
      throw new IllegalArgumentException("attention_bias / mlp_bias are not supported");
    }
    double ropeTheta = ropeTheta(o);
    int hidden = reqInt(o, "hidden_size");
    int heads = reqInt(o, "num_attention_heads");
    int kvHeads = optInt(o, "num_key_value_heads", heads);
    if (heads <= 0 || hidden % heads != 0 && isAbsent(o, "head_dim")) {
      throw new IllegalArgumentException("hidden_size " + hidden + " is not divisible by num_attention_heads "
          + heads + " and head_dim is not given");
    }
    int headDim = optInt(o, "head_dim", heads > 0 ? hidden / heads : 0);
    int eos = optTokenId(o, "eos_token_id", 2);
    int pad = optTokenId(o, "pad_token_id", Integer.MIN_VALUE);
    if (pad == Integer.MIN_VALUE) {
      pad = tokenizerPad.isPresent() && tokenizerPad.getAsInt() >= 0 ? tokenizerPad.getAsInt() : eos;
    }
    return new LlamaConfig(
        reqInt(o, "vocab_size"),
        hidden,
        reqInt(o, "intermediate_size"),
        reqInt(o, "num_hidden_layers"),
        heads,
        kvHeads,
        headDim,
        ropeTheta,
        optDouble(o, "rms_norm_eps", 1e-6),
        optInt(o, "max_position_embeddings", 2048),
        optBoolean(o, "tie_word_embeddings", false),
        optTokenId(o, "bos_token_id", 1),
        eos,
        pad);
  }

  /**
   * θ of plain RoPE: top-level {@code rope_theta} (transformers 4) or {@code rope_parameters.rope_theta}
   * (transformers 5); scaled variants ({@code rope_scaling}, a {@code rope_type} other than default) are refused.
   */
  private static double ropeTheta(JsonObject o) {
    JsonElement scaling = o.get("rope_scaling");
    if (scaling != null && !scaling.isJsonNull() && !isDefaultRope(scaling)) {
      throw new IllegalArgumentException("rope_scaling " + scaling + " is not supported");
    }
    JsonElement params = o.get("rope_parameters");
    if (params != null && !params.isJsonNull()) {
      if (!params.isJsonObject() || !isDefaultRope(params)) {
        throw new IllegalArgumentException("rope_parameters " + params + " is not supported (only rope_type default)");
      }
      if (!isAbsent(params.getAsJsonObject(), "rope_theta")) {
        return optDouble(params.getAsJsonObject(), "rope_theta", 10000.0);
      }
    }
    return optDouble(o, "rope_theta", 10000.0);
  }

  private static boolean isDefaultRope(JsonElement el) {
    if (!el.isJsonObject()) {
      return false;
    }
    JsonObject p = el.getAsJsonObject();
    String type = isAbsent(p, "rope_type") ? optString(p, "type") : optString(p, "rope_type");
    return type == null || type.equals("default");
  }

  /** The config as transformers writes it for a float32 {@code LlamaForCausalLM}. */
  public static JsonObject toJson(LlamaConfig c) {
    JsonObject o = new JsonObject();
    JsonArray arch = new JsonArray();
    arch.add("LlamaForCausalLM");
    o.add("architectures", arch);
    o.addProperty("model_type", "llama");
    o.addProperty("hidden_act", "silu");
    o.addProperty("attention_bias", false);
    o.addProperty("mlp_bias", false);
    o.addProperty("vocab_size", c.vocabSize());
    o.addProperty("hidden_size", c.hiddenSize());
    o.addProperty("intermediate_size", c.intermediateSize());
    o.addProperty("num_hidden_layers", c.numLayers());
    o.addProperty("num_attention_heads", c.numHeads());
    o.addProperty("num_key_value_heads", c.numKvHeads());
    o.addProperty("head_dim", c.headDim());
    o.addProperty("rope_theta", c.ropeTheta()); // transformers 4
    JsonObject rope = new JsonObject(); // transformers 5
    rope.addProperty("rope_type", "default");
    rope.addProperty("rope_theta", c.ropeTheta());
    o.add("rope_parameters", rope);
    o.addProperty("rms_norm_eps", c.rmsNormEps());
    o.addProperty("max_position_embeddings", c.maxPositionEmbeddings());
    o.addProperty("tie_word_embeddings", c.tieWordEmbeddings());
    addTokenId(o, "bos_token_id", c.bosTokenId());
    addTokenId(o, "eos_token_id", c.eosTokenId());
    addTokenId(o, "pad_token_id", c.padTokenId());
    o.addProperty("torch_dtype", "float32");
    return o;
  }

  /** Writes {@link #toJson} to {@code file}, pretty-printed. */
  public static void write(Path file, LlamaConfig c) throws IOException {
    Files.writeString(file, new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(toJson(c)) + "\n",
        StandardCharsets.UTF_8);
  }

  private static void addTokenId(JsonObject o, String key, int id) {
    if (id < 0) {
      o.add(key, JsonNull.INSTANCE);
    } else {
      o.addProperty(key, id);
    }
  }

  private static boolean isAbsent(JsonObject o, String key) {
    return !o.has(key) || o.get(key).isJsonNull();
  }

  private static int reqInt(JsonObject o, String key) {
    if (isAbsent(o, key)) {
      throw new IllegalArgumentException("missing required key '" + key + "'");
    }
    return asInt(o.get(key), key);
  }

  private static int optInt(JsonObject o, String key, int dflt) {
    return isAbsent(o, key) ? dflt : asInt(o.get(key), key);
  }

  private static int asInt(JsonElement el, String key) {
    try {
      if (!el.isJsonPrimitive() || !el.getAsJsonPrimitive().isNumber()) {
        throw new NumberFormatException();
      }
      return el.getAsBigDecimal().intValueExact();
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException("key '" + key + "' must be an integer, got " + el);
    }
  }

  private static double optDouble(JsonObject o, String key, double dflt) {
    if (isAbsent(o, key)) {
      return dflt;
    }
    JsonElement el = o.get(key);
    if (!el.isJsonPrimitive() || !el.getAsJsonPrimitive().isNumber()) {
      throw new IllegalArgumentException("key '" + key + "' must be a number, got " + el);
    }
    return el.getAsDouble();
  }

  private static boolean optBoolean(JsonObject o, String key, boolean dflt) {
    if (isAbsent(o, key)) {
      return dflt;
    }
    JsonElement el = o.get(key);
    if (!el.isJsonPrimitive() || !el.getAsJsonPrimitive().isBoolean()) {
      throw new IllegalArgumentException("key '" + key + "' must be true or false, got " + el);
    }
    return el.getAsBoolean();
  }

  private static String optString(JsonObject o, String key) {
    return isAbsent(o, key) ? null : o.get(key).getAsString();
  }

  /** A token id, or the first of a list (Llama 3 lists several EOS ids); null means none (-1). */
  private static int optTokenId(JsonObject o, String key, int dflt) {
    if (!o.has(key)) {
      return dflt;
    }
    JsonElement el = o.get(key);
    if (el.isJsonNull()) {
      return dflt == Integer.MIN_VALUE ? dflt : -1;
    }
    if (el.isJsonArray()) {
      JsonArray a = el.getAsJsonArray();
      if (a.isEmpty()) {
        return -1;
      }
      return asInt(a.get(0), key);
    }
    return asInt(el, key);
  }
}
