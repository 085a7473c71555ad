package dev.cai.runtime.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Golden numbers from PyTorch (tools/make_train_goldens.py) and plain-double reference twins. */
class TrainMathTest {

  @Test
  void adamWShouldMatchTorchAdamWOverThreeStepsWithDecayOnMatricesOnly() {
    JsonObject g = Goldens.get("adamw");
    AdamW.Settings s = new AdamW.Settings(g.get("beta1").getAsDouble(), g.get("beta2").getAsDouble(),
        g.get("eps").getAsDouble(), g.get("weight_decay").getAsDouble());
    double lr = g.get("lr").getAsDouble();
    try (NDManager m = NDManager.newBaseManager(); AdamW opt = new AdamW(s, m)) {
      NDArray w = m.create(Goldens.floats(g.getAsJsonArray("w0")), new Shape(2, 3));
      NDArray b = m.create(Goldens.floats(g.getAsJsonArray("b0")), new Shape(2));
      Map<String, NDArray> params = new LinkedHashMap<>();
      params.put("w", w);
      params.put("b", b);
      int step = 0;
      for (JsonElement e : g.getAsJsonArray("steps")) {
        Map<String, NDArray> grads = Map.of(
            "w", m.create(Goldens.floats(g.getAsJsonArray("grads_w").get(step).getAsJsonArray()), new Shape(2, 3)),
            "b", m.create(Goldens.floats(g.getAsJsonArray("grads_b").get(step).getAsJsonArray()), new Shape(2)));
        opt.step(params, grads, lr);
        step++;
        JsonObject want = e.getAsJsonObject();
        assertClose(Goldens.floats(want.getAsJsonArray("w")), w.toFloatArray(), 1e-6f, "w after step " + step);
        assertClose(Goldens.floats(want.getAsJsonArray("b")), b.toFloatArray(), 1e-6f, "b after step " + step);
        var state = opt.exportState();
        assertEquals(step, state.step());
        assertClose(Goldens.floats(want.getAsJsonArray("m_w")), state.firstMoments().get("w").data(), 1e-7f, "m_w");
        assertClose(Goldens.floats(want.getAsJsonArray("v_w")), state.secondMoments().get("w").data(), 1e-8f, "v_w");
        assertClose(Goldens.floats(want.getAsJsonArray("m_b")), state.firstMoments().get("b").data(), 1e-7f, "m_b");
        assertClose(Goldens.floats(want.getAsJsonArray("v_b")), state.secondMoments().get("b").data(), 1e-8f, "v_b");
      }
    }
  }

  @Test
  void adamWReferenceTwinShouldMatchTorchToo() {
    JsonObject g = Goldens.get("adamw");
    double[] w = Goldens.doubles(g.getAsJsonArray("w0"));
    double[] mw = new double[6];
    double[] vw = new double[6];
    double[] b = Goldens.doubles(g.getAsJsonArray("b0"));
    double[] mb = new double[2];
    double[] vb = new double[2];
    for (int t = 1; t <= 3; t++) {
      ReferenceMath.adamw(w, Goldens.doubles(g.getAsJsonArray("grads_w").get(t - 1).getAsJsonArray()), mw, vw, t,
          0.01, 0.9, 0.999, 1e-8, 0.1);
      ReferenceMath.adamw(b, Goldens.doubles(g.getAsJsonArray("grads_b").get(t - 1).getAsJsonArray()), mb, vb, t,
          0.01, 0.9, 0.999, 1e-8, 0.0);
    }
    JsonObject last = g.getAsJsonArray("steps").get(2).getAsJsonObject();
    assertArrayEquals(Goldens.doubles(last.getAsJsonArray("w")), w, 1e-6);
    assertArrayEquals(Goldens.doubles(last.getAsJsonArray("b")), b, 1e-6);
    assertEquals(1 - 0.9 * 0.9 * 0.9, AdamW.biasCorrection(0.9, 3), 1e-15);
  }

  @Test
  void adamWStateShouldRoundTripAndRejectMismatchedShapes() {
    try (NDManager m = NDManager.newBaseManager();
        AdamW a = new AdamW(AdamW.Settings.defaults(), m);
        AdamW b = new AdamW(AdamW.Settings.defaults(), m)) {
      NDArray pa = m.create(new float[] {1, 2, 3, 4}, new Shape(2, 2));
      NDArray pb = pa.duplicate();
      NDArray grad = m.create(new float[] {0.5f, -1, 2, 0}, new Shape(2, 2));
      a.step(Map.of("p", pa), Map.of("p", grad), 0.1);
      pb.set(pa.toFloatArray());
      b.importState(a.exportState(), Map.of("p", pb));
      a.step(Map.of("p", pa), Map.of("p", grad), 0.1);
      b.step(Map.of("p", pb), Map.of("p", grad), 0.1);
      assertArrayEquals(pa.toFloatArray(), pb.toFloatArray(), 0f);
      assertEquals(2, b.step());
      NDArray wrong = m.zeros(new Shape(4));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> b.importState(a.exportState(), Map.of("p", wrong)));
      assertEquals("Optimizer moment of 'p' has shape [2, 2] but the parameter has (4)", e.getMessage());
    }
  }

  @Test
  void clippingShouldMatchTorchClipGradNorm() {
    for (JsonElement e : Goldens.get("clip").getAsJsonObject().getAsJsonArray("cases")) {
      JsonObject c = e.getAsJsonObject();
      try (NDManager m = NDManager.newBaseManager()) {
        NDArray g1 = m.create(Goldens.floats(c.getAsJsonArray("g1")), new Shape(2, 2));
        NDArray g2 = m.create(Goldens.floats(c.getAsJsonArray("g2")), new Shape(3));
        double norm = GradientClipping.clipInPlace(List.of(g1, g2), c.get("max_norm").getAsDouble());
        assertEquals(c.get("total_norm").getAsDouble(), norm, 1e-6);
        assertClose(Goldens.floats(c.getAsJsonArray("clipped_g1")), g1.toFloatArray(), 1e-7f, "g1");
        assertClose(Goldens.floats(c.getAsJsonArray("clipped_g2")), g2.toFloatArray(), 1e-7f, "g2");
      }
    }
    assertEquals(5.0, GradientClipping.globalNorm(new double[] {9, 16}), 0);
    assertEquals(1.0, GradientClipping.clipCoefficient(0.5, 1.0), 0);
    assertEquals(1.0 / (4.0 + 1e-6), GradientClipping.clipCoefficient(4.0, 1.0), 0);
  }

  @Test
  void maskedLmLossShouldMatchTorchCrossEntropyAndItsGradient() {
    JsonObject g = Goldens.get("lm_loss");
    int b = g.get("B").getAsInt();
    int t = g.get("T").getAsInt();
    int v = g.get("V").getAsInt();
    int[] ids = Goldens.ints(g.getAsJsonArray("ids"));
    int[] lossMask = Goldens.ints(g.getAsJsonArray("loss_mask"));
    assertEquals(g.get("count").getAsLong(), CausalLmLoss.targetCount(lossMask, b, t));
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray logits = m.create(Goldens.floats(g.getAsJsonArray("logits")), new Shape(b, t, v));
      logits.setRequiresGradient(true);
      NDArray sum;
      try (GradientCollector gc = m.getEngine().newGradientCollector()) {
        sum = CausalLmLoss.nllSum(logits, m.create(ids, new Shape(b, t)), m.create(lossMask, new Shape(b, t)));
        gc.backward(sum.div((float) g.get("count").getAsLong()));
      }
      assertEquals(g.get("nll_sum").getAsDouble(), sum.getFloat(), 1e-5);
      assertClose(Goldens.floats(g.getAsJsonArray("grad_of_mean")), logits.getGradient().toFloatArray(), 1e-6f,
          "d mean / d logits");
    }
    double ref = ReferenceMath.maskedNllSum(Goldens.doubles(g.getAsJsonArray("logits")), ids, lossMask, b, t, v);
    assertEquals(g.get("nll_sum").getAsDouble(), ref, 1e-5);
    assertEquals(g.get("mean").getAsDouble(), ref / g.get("count").getAsLong(), 1e-6);
  }

  @Test
  void lossAndHeadGradientsShouldSurviveAGarbageCollectionBetweenForwardAndBackward() throws InterruptedException {
    // DJL on the CPU backs a tensor made from a Java number or array with a direct buffer; if autograd kept such a
    // tensor after its NDArray was closed, a GC before backward would free it and the gradient would read garbage.
    float[][] calm = lossAndHeadGradients(false);
    float[][] collected = lossAndHeadGradients(true);
    assertClose(Goldens.floats(Goldens.get("lm_loss").getAsJsonArray("grad_of_mean")), collected[0], 1e-6f,
        "d mean / d logits after a GC");
    for (int i = 0; i < calm.length; i++) {
      assertArrayEquals(calm[i], collected[i], 0f, "gradient " + i + " changed by a GC before backward");
    }
  }

  /** Gradients of (masked LM loss mean + Σ value-head score at the last token) w.r.t. logits, head weight, bias. */
  private static float[][] lossAndHeadGradients(boolean collectGarbage) throws InterruptedException {
    JsonObject g = Goldens.get("lm_loss");
    int b = g.get("B").getAsInt();
    int t = g.get("T").getAsInt();
    int v = g.get("V").getAsInt();
    try (NDManager m = NDManager.newBaseManager();
        ScalarHead head = ScalarHead.create("value_head", v, new TrainRng(3), m)) {
      NDArray logits = m.create(Goldens.floats(g.getAsJsonArray("logits")), new Shape(b, t, v));
      logits.setRequiresGradient(true);
      head.namedParameters().values().forEach(p -> p.setRequiresGradient(true));
      try (NDManager scratch = m.newSubManager(); GradientCollector gc = m.getEngine().newGradientCollector()) {
        NDArray ids = scratch.create(Goldens.ints(g.getAsJsonArray("ids")), new Shape(b, t));
        NDArray mask = scratch.create(Goldens.ints(g.getAsJsonArray("loss_mask")), new Shape(b, t));
        NDArray count = scratch.create((float) g.get("count").getAsLong());
        NDArray mean = CausalLmLoss.nllSum(logits, ids, mask).div(count);
        NDArray headScore = head.atLastToken(logits.stopGradient(), scratch.ones(new Shape(b, t))).sum();
        if (collectGarbage) {
          for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
          }
        }
        gc.backward(mean.add(headScore));
      }
      return new float[][] {logits.getGradient().toFloatArray(),
          head.namedParameters().get("value_head.weight").getGradient().toFloatArray(),
          head.namedParameters().get("value_head.bias").getGradient().toFloatArray()};
    }
  }

  @Test
  void scheduleShouldWarmUpLinearlyThenDecayToTheFinalFraction() {
    for (JsonElement e : Goldens.get("schedule").getAsJsonObject().getAsJsonArray("cases")) {
      JsonObject c = e.getAsJsonObject();
      LinearWarmupDecay s = new LinearWarmupDecay(c.get("peak").getAsDouble(), c.get("warmup").getAsLong(),
          c.get("total").getAsLong(), c.get("final_fraction").getAsDouble());
      double[] want = Goldens.doubles(c.getAsJsonArray("lrs"));
      for (int t = 1; t <= want.length; t++) {
        assertEquals(want[t - 1], s.lrAt(t), 1e-15, "lr at step " + t);
      }
    }
    assertThrows(IllegalArgumentException.class, () -> new LinearWarmupDecay(1e-3, 5, 5, 0));
    assertThrows(IllegalArgumentException.class, () -> new LinearWarmupDecay(1e-3, 0, 5, 0).lrAt(0));
  }

  private static void assertClose(float[] want, float[] got, float absTol, String what) {
    assertEquals(want.length, got.length, what + " length");
    for (int i = 0; i < want.length; i++) {
      float tol = absTol + 2e-6f * Math.abs(want[i]);
      assertEquals(want[i], got[i], tol, what + "[" + i + "]");
    }
  }
}
