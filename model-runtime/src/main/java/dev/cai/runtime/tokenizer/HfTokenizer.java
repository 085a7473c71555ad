package dev.cai.runtime.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.cai.runtime.weights.ModelLoadException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A {@link TextTokenizer} backed by DJL's binding of the Hugging Face {@code tokenizers} library, built from any
 * {@code tokenizer.json} (a file on disk or one synthesised from GGUF metadata); it never adds BOS/EOS itself and
 * never goes online.
 */
public final class HfTokenizer implements TextTokenizer {

  /** Ids of the beginning/end-of-sequence and padding tokens; -1 where the model has none. */
  public record SpecialTokens(int bosTokenId, int eosTokenId, int padTokenId) {
    public static final SpecialTokens NONE = new SpecialTokens(-1, -1, -1);

    /**
     * The padding id a {@link TextTokenizer} reports: the model's pad token unless it is the EOS token (as in SmolLM2,
     * where pad = eos = {@code <|im_end|>}), in which case -1, so padding is never mistaken for an end of sequence.
     */
    public static int distinctPad(int padTokenId, int eosTokenId) {
      return padTokenId == eosTokenId ? -1 : padTokenId;
    }

    public SpecialTokens {
      if (bosTokenId < -1 || eosTokenId < -1 || padTokenId < -1) {
        throw new IllegalArgumentException("Special token ids must be -1 (none) or >= 0, got "
            + bosTokenId + ", " + eosTokenId + ", " + padTokenId);
      }
    }
  }

  /** DJL options: no automatic special tokens, no truncation, no padding. */
  private static final Map<String, String> OPTIONS = Map.of(
      "addSpecialTokens", "false",
      "truncation", "false",
      "padding", "false",
      "withOverflowingTokens", "false");

  private final HuggingFaceTokenizer delegate;
  private final Map<String, Integer> tokenIds;
  private final String[] tokensById;
  private final SpecialTokens specials;
  private final String source;

  private HfTokenizer(HuggingFaceTokenizer delegate, Map<String, Integer> tokenIds, SpecialTokens specials,
      String source) {
    this.delegate = delegate;
    this.tokenIds = tokenIds;
    int size = tokenIds.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
    this.tokensById = new String[size];
    tokenIds.forEach((token, id) -> tokensById[id] = token);
    this.specials = specials;
    this.source = source;
  }

  /**
   * Loads {@code tokenizer.json} (or the one inside a directory); BOS/EOS/PAD come from a sibling
   * {@code tokenizer_config.json} when there is one ({@code bos_token}, {@code eos_token}, {@code pad_token}; a pad
   * equal to EOS is reported as -1, see {@link SpecialTokens#distinctPad}).
   */
  public static HfTokenizer load(Path tokenizerJson) {
    Path file = Files.isDirectory(tokenizerJson) ? tokenizerJson.resolve("tokenizer.json") : tokenizerJson;
    String json = read(file);
    Map<String, Integer> ids = parseTokenIds(json, file.toString());
    Path config = file.resolveSibling("tokenizer_config.json");
    SpecialTokens specials = Files.isRegularFile(config)
        ? specialsFromConfig(config, ids)
        : SpecialTokens.NONE;
    return create(json, ids, specials, file.toString());
  }

  /** Loads {@code tokenizer.json} (or the one inside a directory) with explicitly given special token ids. */
  public static HfTokenizer load(Path tokenizerJson, SpecialTokens specials) {
    Path file = Files.isDirectory(tokenizerJson) ? tokenizerJson.resolve("tokenizer.json") : tokenizerJson;
    String json = read(file);
    return create(json, parseTokenIds(json, file.toString()), specials, file.toString());
  }

  /** Builds a tokenizer from the text of a {@code tokenizer.json}; {@code source} names its origin in errors. */
  public static HfTokenizer fromJson(String tokenizerJson, SpecialTokens specials, String source) {
    return create(tokenizerJson, parseTokenIds(tokenizerJson, source), specials, source);
  }

  private static HfTokenizer create(String json, Map<String, Integer> ids, SpecialTokens specials, String source) {
    int size = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
    for (int id : new int[] {specials.bosTokenId(), specials.eosTokenId(), specials.padTokenId()}) {
      if (id >= size) {
        throw new ModelLoadException("Tokenizer " + source + ": special token id " + id
            + " is outside the vocabulary of " + size + " tokens");
      }
    }
    HuggingFaceTokenizer tokenizer;
    try {
      tokenizer = HuggingFaceTokenizer.newInstance(
          new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), OPTIONS);
    } catch (IOException | RuntimeException e) {
      throw new ModelLoadException("Tokenizer " + source + " could not be built: " + e.getMessage(), e);
    }
    return new HfTokenizer(tokenizer, ids, specials, source);
  }

  private static String read(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new ModelLoadException("Tokenizer file not found: " + file);
    }
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ModelLoadException("Cannot read tokenizer file " + file + ": " + e.getMessage(), e);
    }
  }

  /** Token text → id over the model vocabulary and the added tokens of a {@code tokenizer.json}. */
  private static Map<String, Integer> parseTokenIds(String json, String source) {
    Map<String, Integer> ids = new HashMap<>();
    try {
      JsonObject root = JsonParser.parseString(json).getAsJsonObject();
      JsonObject model = root.getAsJsonObject("model");
      if (model == null || !model.has("vocab")) {
        throw new ModelLoadException("Tokenizer " + source + " has no model.vocab");
      }
      JsonElement vocab = model.get("vocab");
      if (vocab.isJsonObject()) {
        for (Map.Entry<String, JsonElement> e : vocab.getAsJsonObject().entrySet()) {
          ids.put(e.getKey(), e.getValue().getAsInt());
        }
      } else if (vocab.isJsonArray()) { // Unigram: [[piece, score], ...]
        JsonArray pieces = vocab.getAsJsonArray();
        for (int i = 0; i < pieces.size(); i++) {
          ids.put(pieces.get(i).getAsJsonArray().get(0).getAsString(), i);
        }
      }
      JsonArray added = root.has("added_tokens") && root.get("added_tokens").isJsonArray()
          ? root.getAsJsonArray("added_tokens") : new JsonArray();
      for (JsonElement e : added) {
        JsonObject t = e.getAsJsonObject();
        ids.put(t.get("content").getAsString(), t.get("id").getAsInt());
      }
    } catch (JsonParseException | IllegalStateException | ClassCastException | UnsupportedOperationException e) {
      throw new ModelLoadException("Tokenizer " + source + " is not a valid tokenizer.json: " + e.getMessage(), e);
    }
    if (ids.isEmpty()) {
      throw new ModelLoadException("Tokenizer " + source + " has an empty vocabulary");
    }
    for (int id : ids.values()) {
      if (id < 0) {
        throw new ModelLoadException("Tokenizer " + source + " has a negative token id " + id);
      }
    }
    return ids;
  }

  private static SpecialTokens specialsFromConfig(Path config, Map<String, Integer> ids) {
    try {
      JsonObject root = JsonParser.parseString(Files.readString(config, StandardCharsets.UTF_8)).getAsJsonObject();
      int eos = configToken(root, "eos_token", ids);
      return new SpecialTokens(configToken(root, "bos_token", ids), eos,
          SpecialTokens.distinctPad(configToken(root, "pad_token", ids), eos));
    } catch (IOException | JsonParseException | IllegalStateException e) {
      throw new ModelLoadException("Cannot read tokenizer config " + config + ": " + e.getMessage(), e);
    }
  }

  private static int configToken(JsonObject root, String key, Map<String, Integer> ids) {
    JsonElement e = root.get(key);
    if (e == null || e.isJsonNull()) {
      return -1;
    }
    String text = e.isJsonObject() ? e.getAsJsonObject().get("content").getAsString() : e.getAsString();
    return ids.getOrDefault(text, -1);
  }

  @Override
  public int[] encode(String text) {
    long[] ids = delegate.encode(text, false, false).getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }

  @Override
  public String decode(int[] ids, boolean skipSpecial) {
    long[] longs = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= tokensById.length) {
        throw new IllegalArgumentException("Token id " + ids[i] + " is outside the vocabulary of "
            + tokensById.length + " tokens of " + source);
      }
      longs[i] = ids[i];
    }
    return delegate.decode(longs, skipSpecial);
  }

  @Override
  public int vocabSize() {
    return tokensById.length;
  }

  @Override
  public int eosTokenId() {
    return specials.eosTokenId();
  }

  @Override
  public int bosTokenId() {
    return specials.bosTokenId();
  }

  @Override
  public int padTokenId() {
    return specials.padTokenId();
  }

  @Override
  public int tokenId(String token) {
    return tokenIds.getOrDefault(token, -1);
  }

  /** The vocabulary entry of {@code id} as spelled in {@code tokenizer.json} (byte-level alphabet for BPE). */
  public String token(int id) {
    if (id < 0 || id >= tokensById.length || tokensById[id] == null) {
      throw new IllegalArgumentException("No token with id " + id + " in " + source);
    }
    return tokensById[id];
  }

  /** The file or description this tokenizer was built from. */
  public String source() {
    return source;
  }

  @Override
  public void close() {
    delegate.close();
  }

  @Override
  public String toString() {
    return "HfTokenizer[" + source + ", vocab=" + tokensById.length + ", specials=" + specials + "]";
  }
}
