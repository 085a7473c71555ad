package dev.cai.runtime.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.model.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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
    assertTrue(r.streamGbPerSecond() > 0 && Double.isFinite(r.streamGbPerSecond()), r.toString());
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void shouldTimeEveryWeightMatrixOfADecodeStepOnce(boolean tied) {
    try (LlamaModel model = LlamaModel.create(TinyModels.weights(TinyModels.config(tied), 1), DeviceSetting.CPU)) {
      LlamaConfig c = model.config();
      RuntimeBenchmark.Gemms g = RuntimeBenchmark.decodeGemms(model, 32);
      // per layer q, k, v, o, gate, up, down; then the LM head (tied or not: never the embedding lookup as well)
      long h = c.hiddenSize();
      long q = (long) c.numHeads() * c.headDim();
      long kv = (long) c.numKvHeads() * c.headDim();
      long perLayer = 2 * q * h + 2 * kv * h + 3 * h * c.intermediateSize();
      assertEquals(2.0 * 32 * (c.numLayers() * perLayer + (long) c.vocabSize() * h), g.flops());
      assertTrue(g.millisPerStep() > 0, g.toString());
      assertEquals(32 * 1000.0 / g.millisPerStep(), g.tokensPerSecond(), 1e-9);
      assertEquals(g.flops() / g.millisPerStep() / 1e6, g.gflops(), 1e-9);
    }
  }

  @Test
  void shouldRejectDegenerateSettings() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new RuntimeBenchmark.Settings(8, 1, 2, 1));
    assertEquals("Benchmark needs promptLength > 0, newTokens >= 2, prefillBatch > 0, repeats > 0; got 8, 1, 2, 1", e.getMessage());
  }
}
