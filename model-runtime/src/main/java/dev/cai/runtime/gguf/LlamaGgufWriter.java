package dev.cai.runtime.gguf;

import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelWeights;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes Llama {@link ModelWeights} plus a BPE vocabulary as a GGUF file that {@link GgufLoader} (and llama.cpp)
 * can read: llama.cpp metadata keys and tensor names, q/k rows permuted to llama.cpp's interleaved RoPE order.
 */
public final class LlamaGgufWriter {
  private LlamaGgufWriter() {}

  /**
   * Writes {@code weights} and {@code vocab} to {@code path}; 1-D tensors are stored as F32, matrices as
   * {@code matrixType} (F32, F16, Q8_0, Q4_0 or Q4_1).
   *
   * @param chatTemplate Jinja chat template stored as tokenizer.chat_template, or null
   */
  public static void write(Path path, ModelWeights weights, BpeVocabulary vocab, String chatTemplate,
      GgmlType matrixType) throws IOException {
    LlamaConfig c = weights.config();
    if (vocab.tokens().size() != c.vocabSize()) {
      throw new IllegalArgumentException("Vocabulary has " + vocab.tokens().size() + " tokens, config says "
          + c.vocabSize());
    }
    GgufWriter w = new GgufWriter()
        .putString("general.architecture", "llama")
        .putString("general.name", path.getFileName().toString())
        .putU32("llama.context_length", c.maxPositionEmbeddings())
        .putU32("llama.embedding_length", c.hiddenSize())
        .putU32("llama.block_count", c.numLayers())
        .putU32("llama.feed_forward_length", c.intermediateSize())
        .putU32("llama.attention.head_count", c.numHeads())
        .putU32("llama.attention.head_count_kv", c.numKvHeads())
        .putF32("llama.rope.freq_base", (float) c.ropeTheta())
        .putF32("llama.attention.layer_norm_rms_epsilon", (float) c.rmsNormEps())
        .putU32("llama.vocab_size", c.vocabSize())
        .putU32("llama.rope.dimension_count", c.headDim())
        .putString("tokenizer.ggml.model", "gpt2")
        .putString("tokenizer.ggml.pre", vocab.pre())
        .putStrings("tokenizer.ggml.tokens", vocab.tokens())
        .putI32s("tokenizer.ggml.token_type", vocab.tokenTypes())
        .putStrings("tokenizer.ggml.merges", vocab.merges())
        .putBool("tokenizer.ggml.add_bos_token", false);
    if (c.hiddenSize() / c.numHeads() != c.headDim()) {
      w.putU32("llama.attention.key_length", c.headDim()).putU32("llama.attention.value_length", c.headDim());
    }
    putToken(w, "tokenizer.ggml.bos_token_id", c.bosTokenId());
    putToken(w, "tokenizer.ggml.eos_token_id", c.eosTokenId());
    putToken(w, "tokenizer.ggml.padding_token_id", c.padTokenId());
    if (chatTemplate != null) {
      w.putString("tokenizer.chat_template", chatTemplate);
    }
    for (HostTensor t : weights.tensors().values().stream()
        .sorted((a, b) -> order(a.name()).compareTo(order(b.name()))).toList()) {
      String name = GgufLoader.ggufName(t.name());
      float[] data = t.data();
      if (name.endsWith(".attn_q.weight")) {
        data = GgufLoader.permuteRope(data, c.numHeads(), c.hiddenSize());
      } else if (name.endsWith(".attn_k.weight")) {
        data = GgufLoader.permuteRope(data, c.numKvHeads(), c.hiddenSize());
      }
      w.addTensor(name, t.shape(), data, t.shape().length == 1 ? GgmlType.F32 : matrixType);
    }
    w.write(path);
  }

  private static void putToken(GgufWriter w, String key, int id) {
    if (id >= 0) {
      w.putU32(key, id);
    }
  }

  /** File order like llama.cpp's: embeddings, then blocks by number, then the output tensors. */
  private static String order(String canonical) {
    String g = GgufLoader.ggufName(canonical);
    if (g.startsWith("blk.")) {
      int dot = g.indexOf('.', 4);
      return String.format("1%06d%s", Integer.parseInt(g.substring(4, dot)), g.substring(dot));
    }
    return (g.startsWith("token_embd") ? "0" : "2") + g;
  }
}
