package dev.cai.runtime.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.model.TinyModels;
import org.junit.jupiter.api.Test;

class RuntimeBenchmarkTest {
  @Test
  void shouldMeasurePositiveThroughputsOnATinyModel() {
    RuntimeBenchmark.Result r = RuntimeBenchmark.run(TinyModels.weights(1), DeviceSetting.CPU,
        new RuntimeBenchmark.Settings(8, 4, 2, 1));
    assertEquals("cpu()", r.device());
    for (double v : new double[] {r.matmulGflops(), r.prefillTokensPerSecond(), r.decodeTokensPerSecondBatch1(),
        r.decodeTokensPerSecondBatch8(), r.decodeTokensPerSecondBatch32()}) {
      assertTrue(v > 0 && Double.isFinite(v), r.toString());
    }
    assertTrue(r.toString().contains("decode b1="), r.toString());
  }

  @Test
  void shouldRejectDegenerateSettings() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new RuntimeBenchmark.Settings(8, 1, 2, 1));
    assertEquals("Benchmark needs promptLength > 0, newTokens >= 2, prefillBatch > 0, repeats > 0; got 8, 1, 2, 1", e.getMessage());
  }
}
