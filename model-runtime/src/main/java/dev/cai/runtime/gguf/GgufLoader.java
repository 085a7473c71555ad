package dev.cai.runtime.gguf;

import dev.cai.runtime.weights.LoadedModel;

import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.tokenizer.BpeTokenizerJson;
import dev.cai.runtime.tokenizer.ChatTemplate;
import dev.cai.runtime.tokenizer.HfTokenizer;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelLoadException;
import dev.cai.runtime.weights.ModelWeights;
import dev.cai.runtime.weights.TensorNames;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads a Llama-architecture GGUF file (as written by llama.cpp's {@code convert_hf_to_gguf.py}) into float32
 * {@link ModelWeights} with Hugging Face names and shapes, a {@link HfTokenizer} built from the vocabulary in its
 * metadata, and its {@link ChatTemplate}. Query/key projections are un-permuted from llama.cpp's interleaved RoPE
 * row order back to Hugging Face's rotate-half order.
 */
public final class GgufLoader {
  private static final Logger LOG = LoggerFactory.getLogger(GgufLoader.class);
  private static final Pattern BLOCK = Pattern.compile("blk\\.(\\d+)\\.(.+)");
  private static final Pattern HF_LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");
  private static final Map<String, String> BLOCK_SUFFIXES = Map.of(
      "attn_norm.weight", "input_layernorm.weight",
      "attn_q.weight", "self_attn.q_proj.weight",
      "attn_k.weight", "self_attn.k_proj.weight",
      "attn_v.weight", "self_attn.v_proj.weight",
      "attn_output.weight", "self_attn.o_proj.weight",
      "ffn_norm.weight", "post_attention_layernorm.weight",
      "ffn_gate.weight", "mlp.gate_proj.weight",
      "ffn_up.weight", "mlp.up_proj.weight",
      "ffn_down.weight", "mlp.down_proj.weight");

  private GgufLoader() {}

  /** Loads weights, tokenizer and chat template of {@code path}; every problem is a {@link ModelLoadException}. */
  public static LoadedModel load(Path path) {
    GgufFile file = GgufFile.read(path);
    LlamaConfig config = config(file);
    Map<String, HostTensor> tensors = weights(file, config);
    HfTokenizer tokenizer = tokenizer(file);
    String name = path.getFileName().toString();
    String id = name.endsWith(".gguf") ? name.substring(0, name.length() - 5) : name;
    return new LoadedModel(new ModelWeights(config, tensors, path.toString()), tokenizer, chatTemplate(file), id);
  }

  /** The chat format named by the file's {@code tokenizer.chat_template} (the plain transcript when it has none). */
  public static ChatTemplate chatTemplate(GgufFile file) {
    return ChatTemplate.fromJinja(file.has("tokenizer.chat_template") ? file.string("tokenizer.chat_template") : null);
  }

  /** The Llama config described by the metadata of {@code file}, checked against its tensor shapes. */
  public static LlamaConfig config(GgufFile file) {
    String arch = file.string("general.architecture");
    if (!arch.equals("llama")) {
      throw new ModelLoadException("Unsupported architecture '" + arch + "' in " + file.path()
          + " (general.architecture); only 'llama' is supported");
    }
    String p = arch + ".";
    int hidden = intKey(file, p + "embedding_length");
    int heads = intKey(file, p + "attention.head_count");
    int kvHeads = file.has(p + "attention.head_count_kv") ? intKey(file, p + "attention.head_count_kv") : heads;
    if (heads <= 0 || hidden % heads != 0) {
      throw new ModelLoadException("Metadata of " + file.path() + ": " + p + "embedding_length " + hidden
          + " is not divisible by " + p + "attention.head_count " + heads);
    }
    int headDim = file.has(p + "attention.key_length") ? intKey(file, p + "attention.key_length") : hidden / heads;
    GgufFile.TensorInfo embed = file.requireTensor("token_embd.weight");
    int vocab = file.has(p + "vocab_size") ? intKey(file, p + "vocab_size")
        : file.has("tokenizer.ggml.tokens") ? file.strings("tokenizer.ggml.tokens").size()
        : (int) embed.ne()[embed.ne().length - 1];
    int eos = tokenId(file, "tokenizer.ggml.eos_token_id", vocab);
    int pad = tokenId(file, "tokenizer.ggml.padding_token_id", vocab);
    try {
      return new LlamaConfig(
          vocab,
          hidden,
          intKey(file, p + "feed_forward_length"),
          intKey(file, p + "block_count"),
          heads,
          kvHeads,
          headDim,
          file.number(p + "rope.freq_base", 10000.0),
          file.number(p + "attention.layer_norm_rms_epsilon"),
          intKey(file, p + "context_length"),
          file.tensor("output.weight").isEmpty(),
          tokenId(file, "tokenizer.ggml.bos_token_id", vocab),
          eos,
          HfTokenizer.SpecialTokens.distinctPad(pad, eos));
    } catch (IllegalArgumentException e) {
      throw new ModelLoadException("Metadata of " + file.path() + ": " + e.getMessage(), e);
    }
  }

  /** The llama.cpp tensor name mapped to its Hugging Face Llama name, or empty when it has none. */
  public static Optional<String> canonicalName(String ggufName) {
    switch (ggufName) {
      case "token_embd.weight":
        return Optional.of(TensorNames.EMBED_TOKENS);
      case "output_norm.weight":
        return Optional.of(TensorNames.FINAL_NORM);
      case "output.weight":
        return Optional.of(TensorNames.LM_HEAD);
      default:
        Matcher m = BLOCK.matcher(ggufName);
        if (m.matches() && BLOCK_SUFFIXES.containsKey(m.group(2))) {
          return Optional.of(TensorNames.layer(Integer.parseInt(m.group(1)), BLOCK_SUFFIXES.get(m.group(2))));
        }
        return Optional.empty();
    }
  }

  /** All tensors of {@code file} dequantized (in parallel), renamed, shape-checked against {@code config}. */
  public static Map<String, HostTensor> weights(GgufFile file, LlamaConfig config) {
    Map<String, long[]> expected = expectedShapes(config);
    List<GgufFile.TensorInfo> wanted = new ArrayList<>();
    Set<String> found = new HashSet<>();
    for (GgufFile.TensorInfo t : file.tensors()) {
      Optional<String> name = canonicalName(t.name());
      if (name.isEmpty() || !expected.containsKey(name.get())) {
        LOG.warn("Ignoring tensor '{}' of {}: not part of a Llama model", t.name(), file.path());
        continue;
      }
      long[] want = expected.get(name.get());
      if (!Arrays.equals(want, t.shape())) {
        throw new ModelLoadException("Tensor '" + t.name() + "' (" + name.get() + ") in " + file.path()
            + " has shape " + Arrays.toString(t.shape()) + " but the metadata implies " + Arrays.toString(want));
      }
      wanted.add(t);
      found.add(name.get());
    }
    for (String name : expected.keySet()) {
      if (!found.contains(name)) {
        throw new ModelLoadException("Missing tensor '" + ggufName(name) + "' (" + name + ") in " + file.path());
      }
    }
    Map<String, HostTensor> out = new ConcurrentHashMap<>();
    wanted.parallelStream().forEach(t -> {
      String name = canonicalName(t.name()).orElseThrow();
      float[] data = file.readFloats(t);
      if (t.name().endsWith(".attn_q.weight")) {
        data = unpermuteRope(data, config.numHeads(), config.hiddenSize());
      } else if (t.name().endsWith(".attn_k.weight")) {
        data = unpermuteRope(data, config.numKvHeads(), config.hiddenSize());
      }
      out.put(name, new HostTensor(name, t.shape(), data));
    });
    return out;
  }

  /**
   * Undoes llama.cpp's Llama q/k permutation: within each head, GGUF row {@code 2i + p} is Hugging Face row
   * {@code p·(headDim/2) + i} (interleaved RoPE pairs back to rotate-half halves).
   *
   * @param w row-major [heads·headDim, cols]
   */
  public static float[] unpermuteRope(float[] w, int heads, int cols) {
    return reorderRopeRows(w, heads, cols, true);
  }

  /** Inverse of {@link #unpermuteRope}: Hugging Face rows to llama.cpp's interleaved order (for writing GGUF). */
  public static float[] permuteRope(float[] w, int heads, int cols) {
    return reorderRopeRows(w, heads, cols, false);
  }

  /** Moves each head's rows between GGUF order (2i + p) and Hugging Face order (p·headDim/2 + i). */
  private static float[] reorderRopeRows(float[] w, int heads, int cols, boolean toHuggingFace) {
    int rows = w.length / cols;
    int headDim = rows / heads;
    int half = headDim / 2;
    float[] out = new float[w.length];
    for (int h = 0; h < heads; h++) {
      for (int i = 0; i < half; i++) {
        for (int p = 0; p < 2; p++) {
          int gguf = h * headDim + 2 * i + p;
          int hf = h * headDim + p * half + i;
          System.arraycopy(w, (toHuggingFace ? gguf : hf) * cols, out, (toHuggingFace ? hf : gguf) * cols, cols);
        }
      }
    }
    return out;
  }


  /** The tokenizer described by the {@code tokenizer.ggml.*} metadata (byte-level BPE, "gpt2"). */
  public static HfTokenizer tokenizer(GgufFile file) {
    if (!file.has("tokenizer.ggml.model") || !file.has("tokenizer.ggml.tokens")) {
      throw new ModelLoadException("GGUF file " + file.path() + " has no tokenizer (missing metadata key '"
          + (file.has("tokenizer.ggml.model") ? "tokenizer.ggml.tokens" : "tokenizer.ggml.model") + "')");
    }
    String model = file.string("tokenizer.ggml.model");
    if (!model.equals("gpt2")) {
      throw new ModelLoadException("Unsupported tokenizer '" + model + "' (tokenizer.ggml.model) in " + file.path()
          + "; only byte-level BPE ('gpt2') is supported");
    }
    List<String> tokens = file.strings("tokenizer.ggml.tokens");
    int[] types = file.has("tokenizer.ggml.token_type") ? file.ints("tokenizer.ggml.token_type") : null;
    if (types != null && types.length != tokens.size()) {
      throw new ModelLoadException("Metadata of " + file.path() + ": tokenizer.ggml.token_type has " + types.length
          + " entries but tokenizer.ggml.tokens has " + tokens.size());
    }
    List<String> merges = file.strings("tokenizer.ggml.merges");
    String pre = file.has("tokenizer.ggml.pre") ? file.string("tokenizer.ggml.pre") : "default";
    if (!BpeTokenizerJson.supportsPre(pre)) {
      LOG.warn("Unknown pre-tokenizer '{}' in {}; using GPT-2's split", pre, file.path());
      pre = "default";
    }
    int vocab = tokens.size();
    int eos = tokenId(file, "tokenizer.ggml.eos_token_id", vocab);
    int pad = tokenId(file, "tokenizer.ggml.padding_token_id", vocab);
    HfTokenizer.SpecialTokens specials = new HfTokenizer.SpecialTokens(
        tokenId(file, "tokenizer.ggml.bos_token_id", vocab), eos, HfTokenizer.SpecialTokens.distinctPad(pad, eos));
    return HfTokenizer.fromJson(BpeTokenizerJson.build(tokens, types, merges, pre), specials,
        "tokenizer of " + file.path());
  }

  private static Map<String, long[]> expectedShapes(LlamaConfig c) {
    Map<String, long[]> m = new LinkedHashMap<>();
    long hidden = c.hiddenSize();
    long q = (long) c.numHeads() * c.headDim();
    long kv = (long) c.numKvHeads() * c.headDim();
    m.put(TensorNames.EMBED_TOKENS, new long[] {c.vocabSize(), hidden});
    m.put(TensorNames.FINAL_NORM, new long[] {hidden});
    if (!c.tieWordEmbeddings()) {
      m.put(TensorNames.LM_HEAD, new long[] {c.vocabSize(), hidden});
    }
    for (int i = 0; i < c.numLayers(); i++) {
      m.put(TensorNames.inputNorm(i), new long[] {hidden});
      m.put(TensorNames.qProj(i), new long[] {q, hidden});
      m.put(TensorNames.kProj(i), new long[] {kv, hidden});
      m.put(TensorNames.vProj(i), new long[] {kv, hidden});
      m.put(TensorNames.oProj(i), new long[] {hidden, q});
      m.put(TensorNames.postAttentionNorm(i), new long[] {hidden});
      m.put(TensorNames.gateProj(i), new long[] {c.intermediateSize(), hidden});
      m.put(TensorNames.upProj(i), new long[] {c.intermediateSize(), hidden});
      m.put(TensorNames.downProj(i), new long[] {hidden, c.intermediateSize()});
    }
    return m;
  }

  /** The llama.cpp name of a Hugging Face Llama tensor name (for error messages and writers). */
  public static String ggufName(String canonical) {
    if (canonical.equals(TensorNames.EMBED_TOKENS)) {
      return "token_embd.weight";
    }
    if (canonical.equals(TensorNames.FINAL_NORM)) {
      return "output_norm.weight";
    }
    if (canonical.equals(TensorNames.LM_HEAD)) {
      return "output.weight";
    }
    Matcher m = HF_LAYER.matcher(canonical);
    if (m.matches()) {
      for (Map.Entry<String, String> e : BLOCK_SUFFIXES.entrySet()) {
        if (e.getValue().equals(m.group(2))) {
          return "blk." + m.group(1) + "." + e.getKey();
        }
      }
    }
    throw new IllegalArgumentException("No GGUF name for tensor " + canonical);
  }

  private static int intKey(GgufFile file, String key) {
    long v = file.integer(key);
    if (v <= 0 || v > Integer.MAX_VALUE) {
      throw new ModelLoadException("Metadata key '" + key + "' in " + file.path() + " has invalid value " + v);
    }
    return (int) v;
  }

  private static int tokenId(GgufFile file, String key, int vocab) {
    if (!file.has(key)) {
      return -1;
    }
    long v = file.integer(key);
    if (v < 0 || v >= vocab) {
      throw new ModelLoadException("Metadata key '" + key + "' in " + file.path() + " is " + v
          + ", outside the vocabulary of " + vocab + " tokens");
    }
    return (int) v;
  }
}
