package dev.cai.runtime.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Score summaries and the linear-interpolation quantile (NumPy's default). */
class ScoreSummaryTest {
  @Test
  void shouldSummariseWithPopulationStdAndInterpolatedQuantiles() {
    ScoreSummary s = ScoreSummary.of(new double[] {4, -1, 2, 10, 0});
    // sorted -1, 0, 2, 4, 10; mean 3; population variance (16 + 9 + 1 + 1 + 49) / 5 = 15.2
    assertEquals(new ScoreSummary(5, 3, s.std(), -1, 0, 2, 4, 10), s);
    assertEquals(Math.sqrt(15.2), s.std(), 1e-12);
    // numpy.percentile([-1, 0, 2, 4, 10], [2.5, 37.5, 97.5]) = -0.9, 1.0, 9.4
    double[] sorted = {-1, 0, 2, 4, 10};
    assertEquals(-0.9, ScoreSummary.quantile(sorted, 0.025), 1e-12);
    assertEquals(1.0, ScoreSummary.quantile(sorted, 0.375), 1e-12);
    assertEquals(9.4, ScoreSummary.quantile(sorted, 0.975), 1e-12);
    assertEquals(7.0, ScoreSummary.quantile(new double[] {7}, 0.3), 0);
  }

  @Test
  void shouldRejectEmptyOrNonFiniteScores() {
    assertEquals("no scores to summarise", assertThrows(IllegalArgumentException.class, () -> ScoreSummary.of(new double[0]))
        .getMessage());
    assertEquals("scores must be finite, got NaN",
        assertThrows(IllegalArgumentException.class, () -> ScoreSummary.of(new double[] {1, Double.NaN})).getMessage());
  }
}
