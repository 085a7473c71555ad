package dev.cai.runtime.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TokenSamplerTest {
  private static float[] logSoftmax(double... logits) {
    double max = Double.NEGATIVE_INFINITY;
    for (double l : logits) {
      max = Math.max(max, l);
    }
    double s = 0;
    for (double l : logits) {
      s += Math.exp(l - max);
    }
    float[] out = new float[logits.length];
    for (int i = 0; i < logits.length; i++) {
      out[i] = (float) (logits[i] - max - Math.log(s));
    }
    return out;
  }

  @Test
  void shouldPickArgmaxWithTopKOne() {
    float[] row = logSoftmax(0.1, 2.0, 1.9, -3, 0.5);
    SplittableRandom rng = new SplittableRandom(7);
    for (int i = 0; i < 200; i++) {
      assertEquals(1, TokenSampler.sample(row, 0, row.length, 1, 1.0, rng));
    }
    assertEquals(1, TokenSampler.argMax(row, 0, row.length));
  }

  @Test
  void shouldMatchTheDistributionWithoutFilters() {
    // p = (0.5, 0.3, 0.2): empirical frequencies within 4 standard errors over 20k draws.
    float[] row = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2)};
    int[] counts = draw(row, 0, 1.0, 20_000);
    assertNear(0.5, counts[0] / 20_000.0, 20_000);
    assertNear(0.3, counts[1] / 20_000.0, 20_000);
    assertNear(0.2, counts[2] / 20_000.0, 20_000);
  }

  @Test
  void shouldRenormaliseWithinTopK() {
    float[] row = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2)};
    int[] counts = draw(row, 2, 1.0, 20_000);
    assertEquals(0, counts[2]);
    assertNear(0.625, counts[0] / 20_000.0, 20_000);
  }

  @Test
  void shouldKeepSmallestNucleusReachingTopP() {
    // p = (0.5, 0.3, 0.15, 0.05): top-p 0.7 keeps {0, 1} (0.5 < 0.7 ≤ 0.8), renormalised to (0.625, 0.375).
    float[] row = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15), (float) Math.log(0.05)};
    int[] counts = draw(row, 0, 0.7, 20_000);
    assertEquals(0, counts[2] + counts[3]);
    assertNear(0.625, counts[0] / 20_000.0, 20_000);
    // top-p 0.5 keeps only the first token.
    assertEquals(20_000, draw(row, 0, 0.5, 20_000)[0]);
  }

  @Test
  void shouldSampleTailTokensOfALargeFlatVocabulary() {
    int n = 50_000;
    float[] row = new float[n];
    java.util.Arrays.fill(row, (float) -Math.log(n));
    int[] counts = draw(row, 0, 1.0, 2_000);
    int distinct = 0;
    for (int c : counts) {
      distinct += c > 0 ? 1 : 0;
    }
    // 2000 draws from 50k uniform tokens: almost all distinct.
    assertEquals(true, distinct > 1_900, "distinct=" + distinct);
  }

  @Test
  void shouldRepeatDrawsForTheSameSeed() {
    float[] row = logSoftmax(0.3, 0.2, 0.1, 0.0, -0.1);
    assertEquals(java.util.Arrays.toString(draw(row, 0, 0.9, 50, 42)), java.util.Arrays.toString(draw(row, 0, 0.9, 50, 42)));
  }

  private static int[] draw(float[] row, int topK, double topP, int n) {
    return draw(row, topK, topP, n, 1234);
  }

  private static int[] draw(float[] row, int topK, double topP, int n, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    int[] counts = new int[row.length];
    for (int i = 0; i < n; i++) {
      counts[TokenSampler.sample(row, 0, row.length, topK, topP, rng)]++;
    }
    return counts;
  }

  private static void assertNear(double p, double freq, int n) {
    double se = Math.sqrt(p * (1 - p) / n);
    if (Math.abs(p - freq) > 4 * se) {
      throw new AssertionError("frequency " + freq + " too far from " + p);
    }
  }
}
