package dev.cai.runtime.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The DJL losses against golden numbers (tools/ppo_golden.py, PyTorch float64) and plain-Java reference loops. */
class PpoLossesTest {
  private static final float[][] LP = {{-1.0f, -0.5f, -2.0f}, {-0.2f, -1.5f, -0.9f}};
  private static final float[][] OLD_LP = {{-1.1f, -0.9f, -1.8f}, {-0.2f, -1.0f, -1.4f}};
  private static final float[][] ADV = {{0.5f, -1.0f, 2.0f}, {1.5f, -0.3f, 0.7f}};
  private static final float[][] MASK = {{1, 1, 1}, {1, 0, 1}};

  @Test
  void shouldMatchGoldenPolicyValueAndEntropyLosses() {
    try (NDManager m = NDManager.newBaseManager()) {
      PpoLosses.PolicyLoss pl = PpoLosses.policy(m.create(LP), m.create(OLD_LP), m.create(ADV), m.create(MASK), 0.2);
      assertEquals(-0.607644454, pl.loss().getFloat(), 1e-6);
      assertEquals(0.2, pl.clipFraction().getFloat(), 1e-6);
      assertEquals(0.046, pl.approxKl().getFloat(), 1e-6);

      float[][] v = {{0.3f, 0.9f, -0.4f}, {1.2f, 0.0f, 0.5f}};
      float[][] ov = {{0.1f, 0.5f, -0.3f}, {1.0f, 0.2f, 0.0f}};
      float[][] ret = {{0.6f, 0.4f, 0.0f}, {0.9f, -0.5f, 2.0f}};
      PpoLosses.ValueLoss vl = PpoLosses.value(m.create(v), m.create(ov), m.create(ret), m.create(MASK), 0.2);
      assertEquals(0.383, vl.loss().getFloat(), 1e-6);
      assertEquals(0.2, vl.clipFraction().getFloat(), 1e-6);

      float[] logits = {1.0f, 2.0f, 0.5f, 0, 0, 0, 3.0f, -1.0f, 0.2f, -0.5f, 0.3f, 0.9f, 2.0f, 2.0f, -2.0f, 0.1f, 0.1f, 5.0f};
      assertEquals(0.670802317, PpoLosses.entropy(m.create(logits, new Shape(2, 3, 3)), m.create(MASK)).getFloat(), 1e-6);
    }
  }

  @Test
  void shouldAgreeWithAReferenceLoopOnRandomBatches() {
    Random rnd = new Random(11);
    try (NDManager m = NDManager.newBaseManager()) {
      for (int trial = 0; trial < 10; trial++) {
        int b = 1 + rnd.nextInt(4);
        int t = 1 + rnd.nextInt(9);
        float[][] lp = rand(rnd, b, t, 0.5);
        float[][] olp = rand(rnd, b, t, 0.5);
        float[][] adv = rand(rnd, b, t, 1.0);
        float[][] mask = new float[b][t];
        for (int i = 0; i < b; i++) {
          for (int j = 0; j < t; j++) {
            mask[i][j] = j == 0 || rnd.nextBoolean() ? 1 : 0;
          }
        }
        double eps = 0.1 + 0.2 * rnd.nextDouble();
        double num = 0;
        double clipped = 0;
        double den = 0;
        for (int i = 0; i < b; i++) {
          for (int j = 0; j < t; j++) {
            double ratio = Math.exp(lp[i][j] - olp[i][j]);
            double pg1 = -adv[i][j] * ratio;
            double pg2 = -adv[i][j] * Math.max(1 - eps, Math.min(1 + eps, ratio));
            num += mask[i][j] * Math.max(pg1, pg2);
            clipped += mask[i][j] * (pg2 > pg1 ? 1 : 0);
            den += mask[i][j];
          }
        }
        PpoLosses.PolicyLoss pl = PpoLosses.policy(m.create(lp), m.create(olp), m.create(adv), m.create(mask), eps);
        assertEquals(num / den, pl.loss().getFloat(), 1e-5);
        assertEquals(clipped / den, pl.clipFraction().getFloat(), 1e-6);
      }
    }
  }

  @Test
  void shouldMatchGoldenSoftBradleyTerryLossAndItsScalarTwin() {
    float[] ra = {1.0f, -0.5f, 3.0f, 0.0f};
    float[] rb = {0.2f, 0.5f, -1.0f, 0.0f};
    float[] pa = {0.9f, 0.3f, 1.0f, 0.5f};
    double[] golden = {0.451100666, 0.613261688, 0.0181499279, 0.693147181};
    for (int i = 0; i < 4; i++) {
      assertEquals(golden[i], PreferenceLoss.softBradleyTerry(ra[i], rb[i], pa[i]), 1e-6);
    }
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray loss = PreferenceLoss.softBradleyTerry(m.create(ra), m.create(rb), m.create(pa));
      assertEquals(0.443914865, loss.getFloat(), 1e-6);
      // stable where a naive log(σ(x)) underflows
      NDArray extreme = PreferenceLoss.softBradleyTerry(m.create(new float[] {200f}), m.create(new float[] {-200f}),
          m.create(new float[] {0f}));
      assertEquals(400.0, extreme.getFloat(), 1e-3);
      assertEquals(400.0, PreferenceLoss.softBradleyTerry(200, -200, 0), 1e-9);
    }
  }

  private static float[][] rand(Random rnd, int b, int t, double scale) {
    float[][] x = new float[b][t];
    for (int i = 0; i < b; i++) {
      for (int j = 0; j < t; j++) {
        x[i][j] = (float) (scale * rnd.nextGaussian());
      }
    }
    return x;
  }
}
