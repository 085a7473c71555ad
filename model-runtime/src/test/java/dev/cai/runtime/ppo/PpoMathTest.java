package dev.cai.runtime.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.cai.runtime.ppo.Rewards.KlEstimator;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Host-side RL math against golden numbers from tools/ppo_golden.py and slow reference twins. */
class PpoMathTest {
  private static final float[] LOGP = {-1.2f, -0.3f, -2.5f, -0.7f};
  private static final float[] REF = {-1.0f, -0.6f, -2.0f, -0.9f};

  @Test
  void shouldEstimateKlWithK1AndK3() {
    assertArrayEquals(new float[] {-0.2f, 0.3f, -0.5f, 0.2f}, Rewards.kl(LOGP, REF, KlEstimator.K1), 1e-6f);
    assertArrayEquals(new float[] {0.0214027582f, 0.0408182207f, 0.148721271f, 0.0187307531f},
        Rewards.kl(LOGP, REF, KlEstimator.K3), 1e-6f);
  }

  @Test
  void shouldPutTheScoreAndTheMissingEosPenaltyOnTheLastToken() {
    assertArrayEquals(new float[] {0.02f, -0.03f, 0.05f, 1.48f},
        Rewards.tokenRewards(LOGP, REF, 0.1, KlEstimator.K1, 1.5, true, -1.0), 1e-6f);
    assertArrayEquals(new float[] {0.02f, -0.03f, 0.05f, 0.48f},
        Rewards.tokenRewards(LOGP, REF, 0.1, KlEstimator.K1, 1.5, false, -1.0), 1e-6f);
    assertThrows(IllegalArgumentException.class, () -> Rewards.kl(LOGP, new float[3], KlEstimator.K1));
  }

  @Test
  void shouldComputeGaeLikeTheGoldenNumbers() {
    float[] r = {0.02f, -0.03f, 0.05f, 1.48f};
    float[] v = {0.5f, 0.2f, -0.1f, 0.4f};
    Gae.Result a = Gae.compute(r, v, 1.0, 0.95);
    assertArrayEquals(new float[] {0.82884f, 1.1672f, 1.576f, 1.08f}, a.advantages(), 1e-5f);
    assertArrayEquals(new float[] {1.32884f, 1.3672f, 1.476f, 1.48f}, a.returns(), 1e-5f);
    Gae.Result b = Gae.compute(r, v, 0.9, 0.8);
    assertArrayEquals(new float[] {0.13709184f, 0.607072f, 1.2876f, 1.08f}, b.advantages(), 1e-5f);
    assertArrayEquals(new float[] {0.63709184f, 0.807072f, 1.1876f, 1.48f}, b.returns(), 1e-5f);
  }

  @Test
  void shouldMatchTheDefinitionOfGaeAsADiscountedSumOfTdErrors() {
    Random rnd = new Random(7);
    for (int trial = 0; trial < 20; trial++) {
      int n = 1 + rnd.nextInt(40);
      float[] r = randn(rnd, n);
      float[] v = randn(rnd, n);
      double gamma = 0.8 + 0.2 * rnd.nextDouble();
      double lambda = 0.5 + 0.5 * rnd.nextDouble();
      float[] expected = new float[n];
      for (int t = 0; t < n; t++) { // A_t = Σ_l (γλ)^l δ_{t+l}, O(n²)
        double sum = 0;
        for (int l = 0; t + l < n; l++) {
          double nextV = t + l + 1 < n ? v[t + l + 1] : 0;
          sum += Math.pow(gamma * lambda, l) * (r[t + l] + gamma * nextV - v[t + l]);
        }
        expected[t] = (float) sum;
      }
      assertArrayEquals(expected, Gae.compute(r, v, gamma, lambda).advantages(), 1e-4f);
    }
  }

  @Test
  void shouldWhitenWithThePopulationVarianceAcrossTheWholeBatch() {
    float[][] batch = {{1, 2, 3}, {-1}, {0.5f, 4}};
    assertArrayEquals(new float[] {-0.354914088f, 0.253510063f, 0.861934214f, -1.57176239f, -0.659126163f, 1.47035836f},
        flat(Whitening.whiten(batch, true)), 1e-6f);
    assertArrayEquals(new float[] {1.22841925f, 1.8368434f, 2.44526755f, 0.0115709439f, 0.92420717f, 3.0536917f},
        flat(Whitening.whiten(batch, false)), 1e-5f);

    Random rnd = new Random(3);
    float[][] big = {randn(rnd, 17), randn(rnd, 1), randn(rnd, 40)};
    float[] w = flat(Whitening.whiten(big, true));
    double mean = 0;
    for (float x : w) {
      mean += x;
    }
    mean /= w.length;
    double var = 0;
    for (float x : w) {
      var += (x - mean) * (x - mean);
    }
    assertEquals(0.0, mean, 1e-5);
    assertEquals(1.0, var / w.length, 1e-4);
  }

  @Test
  void shouldAdaptTheKlCoefficientTowardsTheTarget() {
    KlController c = KlController.adaptive(0.2, 6.0, 10000.0);
    assertEquals(0.201024, c.update(9.0, 256).klCoef(), 1e-12);   // error clipped at +0.2
    assertEquals(0.197952, c.update(3.0, 512).klCoef(), 1e-12);   // error clipped at −0.2
    assertEquals(0.200128, c.update(6.6, 64).klCoef(), 1e-12);    // error 0.1
    assertEquals(0.2, KlController.fixed(0.2).update(100, 1000).klCoef());
    assertThrows(IllegalArgumentException.class, () -> KlController.adaptive(0.2, 0, 100));
  }

  @Test
  void shouldVisitEveryRolloutOncePerEpochInASeededOrder() {
    List<int[]> plan = Minibatches.plan(10, 4, 3, new SplittableRandom(42));
    assertEquals(9, plan.size()); // 3 epochs × (4 + 4 + 2)
    for (int e = 0; e < 3; e++) {
      int[] seen = new int[10];
      for (int m = 0; m < 3; m++) {
        for (int i : plan.get(e * 3 + m)) {
          seen[i]++;
        }
      }
      assertArrayEquals(filled(10, 1), seen);
    }
    List<int[]> again = Minibatches.plan(10, 4, 3, new SplittableRandom(42));
    for (int i = 0; i < plan.size(); i++) {
      assertArrayEquals(plan.get(i), again.get(i));
    }
    assertNotEquals(Arrays.toString(plan.get(0)), Arrays.toString(Minibatches.plan(10, 4, 1, new SplittableRandom(43)).get(0)));
  }

  @Test
  void shouldNormaliseDebiasEnsembleAndClampSoftLabels() {
    assertEquals(0.802183888559, SoftLabels.normalize(-0.3, -1.7), 1e-12);
    assertEquals(0.5, SoftLabels.normalize(Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY));
    assertEquals(1.0, SoftLabels.normalize(0, Double.NEGATIVE_INFINITY));
    assertEquals(1.0 - SoftLabels.normalize(-1.7, -0.3), SoftLabels.normalize(-0.3, -1.7), 1e-12, "symmetric");
    // forward says A with 0.9; swapped order says option A (= response B) with 0.3, so response A with 0.7
    assertEquals(0.8, SoftLabels.debias(0.9, 0.3), 1e-12);
    assertEquals(0.5, SoftLabels.debias(0.9, 0.9), 1e-12, "pure position bias cancels out");
    assertEquals(0.6, SoftLabels.ensemble(new double[] {0.5, 0.7, 0.6}), 1e-12);
    assertEquals(0.6, SoftLabels.clamp(0.97, 0.4, 0.6));
    assertEquals(0.4, SoftLabels.clamp(0.01, 0.4, 0.6));
    assertEquals(0.55, SoftLabels.clamp(0.55, 0.4, 0.6));
    assertThrows(IllegalArgumentException.class, () -> SoftLabels.clamp(0.5, 0.6, 0.4));
  }

  private static float[] randn(Random rnd, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) rnd.nextGaussian();
    }
    return x;
  }

  private static float[] flat(float[][] a) {
    int n = 0;
    for (float[] r : a) {
      n += r.length;
    }
    float[] out = new float[n];
    int k = 0;
    for (float[] r : a) {
      for (float x : r) {
        out[k++] = x;
      }
    }
    return out;
  }

  private static int[] filled(int n, int v) {
    int[] a = new int[n];
    Arrays.fill(a, v);
    return a;
  }
}
