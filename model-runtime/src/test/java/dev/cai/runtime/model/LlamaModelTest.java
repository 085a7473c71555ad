package dev.cai.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelWeights;
import dev.cai.runtime.weights.TensorNames;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LlamaModelTest {
  private static final int[] TOKENS = {5, 17, 33, 8, 61, 40, 12, 3, 27};

  @Test
  void shouldMatchScalarReferenceForTiedAndSeparateHeads() {
    for (boolean tied : new boolean[] {true, false}) {
      ModelWeights weights = TinyModels.weights(TinyModels.config(tied), 11);
      double[][] expected = new ReferenceLlama(weights).logits(TOKENS);
      try (LlamaModel model = LlamaModel.create(weights, Device.cpu());
          NDManager m = model.manager().newSubManager()) {
        float[] got = model.forward(ids(m, TOKENS), ones(m, 1, TOKENS.length)).logits().toFloatArray();
        assertClose(flatten(expected), got, 1e-4, "tied=" + tied);
      }
    }
  }

  @Test
  void shouldGiveSameLogitsDecodingWithKvCacheAsFullForward() {
    ModelWeights weights = TinyModels.weights(3);
    int v = weights.config().vocabSize();
    try (LlamaModel model = LlamaModel.create(weights, Device.cpu());
        NDManager m = model.manager().newSubManager();
        KvCache cache = model.newCache(1, TOKENS.length)) {
      float[] full = model.forward(ids(m, TOKENS), ones(m, 1, TOKENS.length)).logits().toFloatArray();
      int prefill = 4;
      int[] prompt = java.util.Arrays.copyOf(TOKENS, prefill);
      NDArray mask = ones(m, 1, prefill);
      float[] step = model.decodeStep(ids(m, prompt), LlamaModel.positionIds(mask), LlamaModel.attentionBias(mask),
          cache).toFloatArray();
      assertClose(slice(full, (prefill - 1) * v, v), step, 1e-4, "prefill");
      for (int p = prefill; p < TOKENS.length; p++) {
        NDArray pos = m.create(new long[] {p}, new Shape(1, 1));
        NDArray bias = m.zeros(new Shape(1, 1, 1, 1, p + 1));
        step = model.decodeStep(ids(m, new int[] {TOKENS[p]}), pos, bias, cache).toFloatArray();
        assertClose(slice(full, p * v, v), step, 1e-4, "position " + p);
      }
      assertEquals(TOKENS.length, cache.length());
    }
  }

  @Test
  void shouldBuildCausalAndPaddingBiasForTheLastQueries() {
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      NDArray mask = m.create(new long[] {0, 1, 1, 1}, new Shape(1, 4));
      float x = LlamaModel.MASKED;
      // Queries at positions 2 and 3 over keys 0..3; key 0 is padding.
      assertArrayEquals(new float[] {x, 0, 0, x, x, 0, 0, 0}, LlamaModel.attentionBias(mask, 2).toFloatArray());
      assertEquals(new Shape(1, 1, 1, 2, 4), LlamaModel.attentionBias(mask, 2).getShape());
      assertThrows(IllegalArgumentException.class, () -> LlamaModel.attentionBias(mask, 5));
    }
  }

  @Test
  void shouldNotChangeRealTokenLogitsWhenLeftPadded() {
    ModelWeights weights = TinyModels.weights(5);
    int v = weights.config().vocabSize();
    int[] shorter = {9, 4, 22, 50};
    int t = TOKENS.length;
    try (LlamaModel model = LlamaModel.create(weights, Device.cpu());
        NDManager m = model.manager().newSubManager()) {
      float[] alone = model.forward(ids(m, shorter), ones(m, 1, shorter.length)).logits().toFloatArray();
      long[] batchIds = new long[2 * t];
      long[] mask = new long[2 * t];
      for (int j = 0; j < t; j++) {
        batchIds[j] = TOKENS[j];
        mask[j] = 1;
        int k = j - (t - shorter.length);
        batchIds[t + j] = k < 0 ? TinyModels.PAD : shorter[k];
        mask[t + j] = k < 0 ? 0 : 1;
      }
      NDArray maskArr = m.create(mask, new Shape(2, t));
      float[] batched = model.forward(m.create(batchIds, new Shape(2, t)), maskArr).logits().toFloatArray();
      float[] padded = slice(batched, (t + t - shorter.length) * v, shorter.length * v);
      assertClose(alone, padded, 1e-4, "left-padded row");
      assertArrayEquals(new long[] {0, 0, 0, 0, 0, 0, 1, 2, 3},
          java.util.Arrays.copyOfRange(LlamaModel.positionIds(maskArr).toLongArray(), t, 2 * t));
      // The inference path (fused, detached weights) computes the same hidden states.
      float[] train = model.forwardHidden(m.create(batchIds, new Shape(2, t)), maskArr).toFloatArray();
      float[] infer = model.inferenceHidden(m.create(batchIds, new Shape(2, t)), maskArr).toFloatArray();
      assertClose(train, infer, 1e-5, "inference vs training path");
    }
  }

  @Test
  void shouldNameTensorExpectedAndActualShapeAndSourceOnShapeMismatch() {
    ModelWeights good = TinyModels.weights(1);
    Map<String, HostTensor> tensors = new HashMap<>(good.tensors());
    String name = TensorNames.kProj(1);
    tensors.put(name, new HostTensor(name, new long[] {32, 16}, new float[32 * 16]));
    ModelWeights bad = new ModelWeights(good.config(), tensors, "/tmp/bad-model.gguf");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LlamaModel.create(bad, Device.cpu()));
    assertEquals("Tensor 'model.layers.1.self_attn.k_proj.weight' in /tmp/bad-model.gguf has shape [32, 16]"
        + " but the config expects [16, 32]", e.getMessage());
  }

  @Test
  void shouldNameMissingTensorAndSource() {
    ModelWeights good = TinyModels.weights(TinyModels.config(false), 1);
    Map<String, HostTensor> tensors = new HashMap<>(good.tensors());
    tensors.remove(TensorNames.LM_HEAD);
    ModelWeights bad = new ModelWeights(good.config(), tensors, "/models/x.safetensors");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LlamaModel.create(bad, Device.cpu()));
    assertEquals("Missing tensor 'lm_head.weight' (expected shape [64, 32]) in /models/x.safetensors",
        e.getMessage());
  }

  @Test
  void shouldExportAndLoadWeightsInPlace() {
    ModelWeights a = TinyModels.weights(1);
    ModelWeights b = TinyModels.weights(2);
    try (LlamaModel model = LlamaModel.create(a, Device.cpu());
        LlamaModel reference = LlamaModel.create(b, Device.cpu());
        NDManager m = model.manager().newSubManager()) {
      ModelWeights exported = model.exportWeights("export");
      assertEquals(a.tensors().keySet(), exported.tensors().keySet());
      assertArrayEquals(a.require(TensorNames.qProj(0)).data(), exported.require(TensorNames.qProj(0)).data());
      NDArray q0 = model.namedParameters().get(TensorNames.qProj(0));
      model.inferenceHidden(ids(m, TOKENS), ones(m, 1, TOKENS.length)); // build fused weights from a
      model.loadWeights(b);
      assertTrue(q0 == model.namedParameters().get(TensorNames.qProj(0)), "same array object after load");
      float[] got = model.inferenceHidden(ids(m, TOKENS), ones(m, 1, TOKENS.length)).toFloatArray();
      float[] want = reference.inferenceHidden(ids(m, TOKENS), ones(m, 1, TOKENS.length)).toFloatArray();
      assertArrayEquals(want, got, 0f);
    }
  }

  @Test
  void shouldLoadWeightsIntoParametersThatRequireGradients() {
    try (LlamaModel model = LlamaModel.create(TinyModels.weights(1), Device.cpu());
        LlamaModel reference = LlamaModel.create(TinyModels.weights(2), Device.cpu());
        NDManager m = model.manager().newSubManager()) {
      model.namedParameters().values().forEach(p -> p.setRequiresGradient(true));
      model.loadWeights(TinyModels.weights(2));
      float[] got = model.inferenceHidden(ids(m, TOKENS), ones(m, 1, TOKENS.length)).toFloatArray();
      float[] want = reference.inferenceHidden(ids(m, TOKENS), ones(m, 1, TOKENS.length)).toFloatArray();
      assertArrayEquals(want, got, 0f);
    }
  }

  @Test
  void shouldUseInPlaceParameterUpdatesAfterParametersUpdated() {
    try (LlamaModel model = LlamaModel.create(TinyModels.weights(1), Device.cpu());
        NDManager m = model.manager().newSubManager()) {
      float[] before = model.inferenceHidden(ids(m, TOKENS), ones(m, 1, TOKENS.length)).toFloatArray();
      // An optimizer step in place: w ← 1.5·w on one projection.
      model.namedParameters().get(TensorNames.upProj(1)).muli(1.5f);
      float[] stale = model.inferenceHidden(ids(m, TOKENS), ones(m, 1, TOKENS.length)).toFloatArray();
      assertArrayEquals(before, stale, 0f);
      model.parametersUpdated();
      float[] after = model.inferenceHidden(ids(m, TOKENS), ones(m, 1, TOKENS.length)).toFloatArray();
      float[] training = model.forwardHidden(ids(m, TOKENS), ones(m, 1, TOKENS.length)).toFloatArray();
      assertClose(training, after, 1e-5, "inference after update");
      assertTrue(Math.abs(after[0] - before[0]) + Math.abs(after[40] - before[40]) > 1e-4);
    }
  }

  @Test
  void shouldRunAsADjlBlock() {
    try (LlamaModel model = LlamaModel.create(TinyModels.weights(1), Device.cpu());
        NDManager m = model.manager().newSubManager()) {
      ai.djl.ndarray.NDList out = model.forward(new ai.djl.training.ParameterStore(m, false),
          new ai.djl.ndarray.NDList(ids(m, TOKENS), ones(m, 1, TOKENS.length)), false);
      assertEquals(new Shape(1, TOKENS.length, 64), out.get(0).getShape());
      assertEquals(new Shape(1, TOKENS.length, 32), out.get(1).getShape());
      assertEquals(model.getOutputShapes(new Shape[] {new Shape(1, TOKENS.length)})[0], out.get(0).getShape());
      assertEquals(LlamaTensorLayout.expectedShapes(model.config()).size(), model.getParameters().size());
    }
  }

  @Test
  void shouldRejectWeightsOfAnotherConfigOnLoad() {
    try (LlamaModel model = LlamaModel.create(TinyModels.weights(1), Device.cpu())) {
      ModelWeights other = TinyModels.weights(TinyModels.config(false), 1);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.loadWeights(other));
      assertTrue(e.getMessage().startsWith("Weights from random(seed=1) have config"), e.getMessage());
    }
  }

  @Test
  void shouldBackpropagateToEveryParameter() {
    try (LlamaModel model = LlamaModel.create(TinyModels.weights(TinyModels.config(false), 4), Device.cpu());
        NDManager m = model.manager().newSubManager()) {
      Map<String, NDArray> params = model.namedParameters();
      assertEquals(LlamaTensorLayout.expectedShapes(model.config()).keySet(), params.keySet());
      params.values().forEach(p -> p.setRequiresGradient(true));
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        var out = model.forward(ids(m, TOKENS), ones(m, 1, TOKENS.length));
        gc.backward(out.logits().logSoftmax(-1).get("0, :, 7").sum().add(out.hidden().mean()));
      }
      for (Map.Entry<String, NDArray> e : params.entrySet()) {
        NDArray grad = e.getValue().getGradient();
        assertNotNull(grad, e.getKey());
        assertTrue(grad.abs().sum().getFloat() > 0, "zero gradient for " + e.getKey());
      }
    }
  }

  @Test
  void shouldNotLeakArraysIntoTheModelManager() {
    try (LlamaModel model = LlamaModel.create(TinyModels.weights(1), Device.cpu())) {
      try (NDManager m = model.manager().newSubManager()) {
        model.inferenceHidden(ids(m, TOKENS), ones(m, 1, TOKENS.length));
      }
      int before = model.manager().getManagedArrays().size();
      new dev.cai.runtime.generate.Generator(model).generate(java.util.List.of(TOKENS, new int[] {4, 5}),
          dev.cai.runtime.generate.GenerationSettings.sampling(6, 0.8, 1).withStopAtEos(false));
      assertEquals(before, model.manager().getManagedArrays().size());
    }
  }

  static NDArray ids(NDManager m, int[] tokens) {
    long[] l = new long[tokens.length];
    for (int i = 0; i < l.length; i++) {
      l[i] = tokens[i];
    }
    return m.create(l, new Shape(1, tokens.length));
  }

  static NDArray ones(NDManager m, int b, int t) {
    long[] l = new long[b * t];
    java.util.Arrays.fill(l, 1);
    return m.create(l, new Shape(b, t));
  }

  static float[] flatten(double[][] x) {
    float[] out = new float[x.length * x[0].length];
    for (int i = 0; i < x.length; i++) {
      for (int j = 0; j < x[i].length; j++) {
        out[i * x[0].length + j] = (float) x[i][j];
      }
    }
    return out;
  }

  static float[] slice(float[] x, int from, int n) {
    return java.util.Arrays.copyOfRange(x, from, from + n);
  }

  static void assertClose(float[] expected, float[] actual, double tol, String what) {
    assertEquals(expected.length, actual.length, what + ": length");
    for (int i = 0; i < expected.length; i++) {
      if (Math.abs(expected[i] - actual[i]) > tol) {
        throw new AssertionError(what + ": element " + i + " expected " + expected[i] + " got " + actual[i]);
      }
    }
  }
}
