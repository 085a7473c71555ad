package dev.cai.runtime.tokenizer;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Writes the Hugging Face {@code tokenizer.json} of a byte-level BPE vocabulary given as llama.cpp stores it
 * (token list, token types, merges, pre-tokenizer name), following the
 * <a href="https://huggingface.co/docs/tokenizers/api/models#tokenizers.models.BPE">tokenizers BPE model</a>
 * and the pre-tokenizer regexes of llama.cpp's {@code llama-vocab.cpp}.
 */
public final class BpeTokenizerJson {
  /** llama.cpp token type of control tokens such as {@code <|im_end|>}: added as special tokens. */
  public static final int TYPE_CONTROL = 3;
  /** llama.cpp token type of user-defined tokens: matched whole, not special. */
  public static final int TYPE_USER_DEFINED = 4;

  /** GPT-2's split regex, applied by the ByteLevel pre-tokenizer itself when {@code use_regex} is true. */
  private static final String LLAMA3_SPLIT =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
          + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  private static final String QWEN2_SPLIT =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
          + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  private static final Set<String> DIGIT_SPLIT_PRES =
      Set.of("smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva");
  private static final Set<String> GPT2_PRES = Set.of("default", "gpt2", "gpt-2", "mpt", "olmo", "jais");
  private static final Set<String> LLAMA3_PRES =
      Set.of("llama3", "llama-v3", "llama-bpe", "falcon3", "smaug-bpe", "dbrx", "pixtral");
  private static final Set<String> QWEN2_PRES = Set.of("qwen2", "deepseek-r1-qwen");

  private BpeTokenizerJson() {}

  /** True when {@code pre} (tokenizer.ggml.pre) names a pre-tokenizer this class can express. */
  public static boolean supportsPre(String pre) {
    String p = pre == null ? "default" : pre.toLowerCase(Locale.ROOT);
    return DIGIT_SPLIT_PRES.contains(p) || GPT2_PRES.contains(p) || LLAMA3_PRES.contains(p) || QWEN2_PRES.contains(p);
  }

  /**
   * The {@code tokenizer.json} text. Tokens not spelled in the byte-level alphabet are respelled from their UTF-8
   * bytes; control tokens (type 3) become special added tokens, user-defined ones (type 4) plain added tokens.
   *
   * @param tokens vocabulary, index = id
   * @param tokenTypes llama.cpp token types per id, or null
   * @param merges merge rules "left right", best first
   * @param pre llama.cpp pre-tokenizer name (tokenizer.ggml.pre), or null for GPT-2's
   */
  public static String build(List<String> tokens, int[] tokenTypes, List<String> merges, String pre) {
    if (!supportsPre(pre)) {
      throw new IllegalArgumentException("Unsupported pre-tokenizer '" + pre + "'");
    }
    if (tokenTypes != null && tokenTypes.length != tokens.size()) {
      throw new IllegalArgumentException("token_type has " + tokenTypes.length + " entries but there are "
          + tokens.size() + " tokens");
    }
    JsonObject vocab = new JsonObject();
    JsonArray added = new JsonArray();
    Set<String> seen = new HashSet<>();
    for (int id = 0; id < tokens.size(); id++) {
      String token = tokens.get(id);
      String spelled = ByteLevel.isSpelled(token) ? token : ByteLevel.spell(token);
      if (seen.add(spelled)) {
        vocab.addProperty(spelled, id);
      }
      int type = tokenTypes == null ? 1 : tokenTypes[id];
      boolean control = type == TYPE_CONTROL && ByteLevel.isSpelled(token);
      if (control || type == TYPE_USER_DEFINED) {
        added.add(addedToken(id, token, control));
      }
    }
    JsonArray mergeArray = new JsonArray();
    merges.forEach(mergeArray::add);

    JsonObject model = new JsonObject();
    model.addProperty("type", "BPE");
    model.add("dropout", JsonNull.INSTANCE);
    model.add("unk_token", JsonNull.INSTANCE);
    model.add("continuing_subword_prefix", JsonNull.INSTANCE);
    model.add("end_of_word_suffix", JsonNull.INSTANCE);
    model.addProperty("fuse_unk", false);
    model.addProperty("byte_fallback", false);
    model.add("vocab", vocab);
    model.add("merges", mergeArray);

    JsonObject root = new JsonObject();
    root.addProperty("version", "1.0");
    root.add("truncation", JsonNull.INSTANCE);
    root.add("padding", JsonNull.INSTANCE);
    root.add("added_tokens", added);
    root.add("normalizer", JsonNull.INSTANCE);
    root.add("pre_tokenizer", preTokenizer(pre == null ? "default" : pre.toLowerCase(Locale.ROOT)));
    root.add("post_processor", byteLevel(true));
    root.add("decoder", byteLevel(true));
    root.add("model", model);
    Gson gson = new GsonBuilder().disableHtmlEscaping().create();
    return gson.toJson(root);
  }

  private static JsonObject addedToken(int id, String content, boolean special) {
    JsonObject t = new JsonObject();
    t.addProperty("id", id);
    t.addProperty("content", content);
    t.addProperty("single_word", false);
    t.addProperty("lstrip", false);
    t.addProperty("rstrip", false);
    t.addProperty("normalized", false);
    t.addProperty("special", special);
    return t;
  }

  private static JsonObject preTokenizer(String pre) {
    if (GPT2_PRES.contains(pre)) {
      return byteLevel(true);
    }
    if (DIGIT_SPLIT_PRES.contains(pre)) {
      // llama.cpp: "\p{N}" then the GPT-2 regex; the original tokenizer.json: Digits(individual) + ByteLevel
      JsonObject digits = new JsonObject();
      digits.addProperty("type", "Digits");
      digits.addProperty("individual_digits", true);
      return sequence(digits, byteLevel(true));
    }
    return sequence(split(LLAMA3_PRES.contains(pre) ? LLAMA3_SPLIT : QWEN2_SPLIT), byteLevel(false));
  }

  private static JsonObject split(String regex) {
    JsonObject pattern = new JsonObject();
    pattern.addProperty("Regex", regex);
    JsonObject s = new JsonObject();
    s.addProperty("type", "Split");
    s.add("pattern", pattern);
    s.addProperty("behavior", "Isolated");
    s.addProperty("invert", false);
    return s;
  }

  private static JsonObject sequence(JsonObject... steps) {
    JsonArray arr = new JsonArray();
    for (JsonObject s : steps) {
      arr.add(s);
    }
    JsonObject seq = new JsonObject();
    seq.addProperty("type", "Sequence");
    seq.add("pretokenizers", arr);
    return seq;
  }

  private static JsonObject byteLevel(boolean useRegex) {
    JsonObject b = new JsonObject();
    b.addProperty("type", "ByteLevel");
    b.addProperty("add_prefix_space", false);
    b.addProperty("trim_offsets", true);
    b.addProperty("use_regex", useRegex);
    return b;
  }
}
