package dev.cai.runtime.model;

import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelWeights;
import dev.cai.runtime.weights.TensorNames;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The tensors a Llama-family decoder needs, in canonical Hugging Face names and PyTorch-order shapes
 * ({@code [out, in]} for projections), and the check of a {@link ModelWeights} against them.
 */
public final class LlamaTensorLayout {
  private LlamaTensorLayout() {}

  /** Every parameter tensor of a model with this config, in a stable order (embedding, layers, norm, head). */
  public static Map<String, long[]> expectedShapes(LlamaConfig c) {
    long h = c.hiddenSize();
    long q = (long) c.numHeads() * c.headDim();
    long kv = (long) c.numKvHeads() * c.headDim();
    long inter = c.intermediateSize();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put(TensorNames.EMBED_TOKENS, new long[] {c.vocabSize(), h});
    for (int i = 0; i < c.numLayers(); i++) {
      shapes.put(TensorNames.inputNorm(i), new long[] {h});
      shapes.put(TensorNames.qProj(i), new long[] {q, h});
      shapes.put(TensorNames.kProj(i), new long[] {kv, h});
      shapes.put(TensorNames.vProj(i), new long[] {kv, h});
      shapes.put(TensorNames.oProj(i), new long[] {h, q});
      shapes.put(TensorNames.postAttentionNorm(i), new long[] {h});
      shapes.put(TensorNames.gateProj(i), new long[] {inter, h});
      shapes.put(TensorNames.upProj(i), new long[] {inter, h});
      shapes.put(TensorNames.downProj(i), new long[] {h, inter});
    }
    shapes.put(TensorNames.FINAL_NORM, new long[] {h});
    if (!c.tieWordEmbeddings()) {
      shapes.put(TensorNames.LM_HEAD, new long[] {c.vocabSize(), h});
    }
    return Collections.unmodifiableMap(shapes);
  }

  /**
   * Checks that every expected tensor is present with the expected shape; the error names the tensor,
   * both shapes and {@link ModelWeights#source()}. Extra tensors (e.g. rotary buffers) are ignored.
   */
  public static void validate(ModelWeights weights) {
    for (Map.Entry<String, long[]> e : expectedShapes(weights.config()).entrySet()) {
      HostTensor t = weights.tensors().get(e.getKey());
      if (t == null) {
        throw new IllegalArgumentException("Missing tensor '" + e.getKey() + "' (expected shape "
            + Arrays.toString(e.getValue()) + ") in " + weights.source());
      }
      if (!Arrays.equals(t.shape(), e.getValue())) {
        throw new IllegalArgumentException("Tensor '" + e.getKey() + "' in " + weights.source() + " has shape "
            + Arrays.toString(t.shape()) + " but the config expects " + Arrays.toString(e.getValue()));
      }
    }
  }
}
