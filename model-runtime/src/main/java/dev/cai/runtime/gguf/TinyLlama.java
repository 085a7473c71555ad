package dev.cai.runtime.gguf;

import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelWeights;
import dev.cai.runtime.weights.TensorNames;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Tiny random-weight Llama models with the {@link BpeVocabulary#tiny()} vocabulary (hidden 32, 2 layers, 4 heads,
 * 2 KV heads, head dim 8, intermediate 64, ChatML), for tests that need a real model file without downloading one.
 */
public final class TinyLlama {
  /** SmolLM2's chat template shape (ChatML), without the default system prompt. */
  public static final String CHATML_JINJA = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n'"
      + " + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
      + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

  private TinyLlama() {}

  /** The tiny config: BOS = {@code <|im_start|>} (1), EOS = {@code <|im_end|>} (2), PAD = {@code <|endoftext|>} (0). */
  public static LlamaConfig config() {
    return new LlamaConfig(BpeVocabulary.tiny().size(), 32, 64, 2, 4, 2, 8, 10000.0, 1e-5, 128, true, 1, 2, 0);
  }

  /** Random weights for {@code config} (Gaussian, std 0.1 for matrices; norms near 1), reproducible from {@code seed}. */
  public static ModelWeights randomWeights(LlamaConfig c, long seed, String source) {
    Random rnd = new Random(seed);
    Map<String, HostTensor> t = new LinkedHashMap<>();
    int h = c.hiddenSize();
    int q = c.numHeads() * c.headDim();
    int kv = c.numKvHeads() * c.headDim();
    put(t, TensorNames.EMBED_TOKENS, rnd, 0.1f, 0f, c.vocabSize(), h);
    for (int i = 0; i < c.numLayers(); i++) {
      put(t, TensorNames.inputNorm(i), rnd, 0.05f, 1f, h);
      put(t, TensorNames.qProj(i), rnd, 0.1f, 0f, q, h);
      put(t, TensorNames.kProj(i), rnd, 0.1f, 0f, kv, h);
      put(t, TensorNames.vProj(i), rnd, 0.1f, 0f, kv, h);
      put(t, TensorNames.oProj(i), rnd, 0.1f, 0f, h, q);
      put(t, TensorNames.postAttentionNorm(i), rnd, 0.05f, 1f, h);
      put(t, TensorNames.gateProj(i), rnd, 0.1f, 0f, c.intermediateSize(), h);
      put(t, TensorNames.upProj(i), rnd, 0.1f, 0f, c.intermediateSize(), h);
      put(t, TensorNames.downProj(i), rnd, 0.1f, 0f, h, c.intermediateSize());
    }
    put(t, TensorNames.FINAL_NORM, rnd, 0.05f, 1f, h);
    if (!c.tieWordEmbeddings()) {
      put(t, TensorNames.LM_HEAD, rnd, 0.1f, 0f, c.vocabSize(), h);
    }
    return new ModelWeights(c, t, source);
  }

  /**
   * Writes a tiny random model to {@code path} with matrices stored as {@code matrixType} and returns the weights
   * it was made from (before quantization; exactly what loads back when {@code matrixType} is F32).
   */
  public static ModelWeights write(Path path, long seed, GgmlType matrixType) throws IOException {
    ModelWeights w = randomWeights(config(), seed, path.toString());
    LlamaGgufWriter.write(path, w, BpeVocabulary.tiny(), CHATML_JINJA, matrixType);
    return w;
  }

  private static void put(Map<String, HostTensor> t, String name, Random rnd, float std, float mean, long... shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    float[] data = new float[(int) n];
    for (int i = 0; i < data.length; i++) {
      data[i] = mean + std * (float) rnd.nextGaussian();
    }
    t.put(name, new HostTensor(name, shape, data));
  }
}
