package dev.cai.runtime.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.cai.runtime.io.Checkpoint;
import dev.cai.runtime.io.CheckpointStore;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.model.TinyModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
  private static final int SEQ = 12;

  @TempDir Path dir;

  @Test
  void shouldMemoriseFourResponsesWithAccumulatedMicroBatches() {
    List<TokenBatch> batches = List.of(batch(0, 2), batch(2, 2));
    try (LlamaModel model = LlamaModel.create(TinyModels.weights(42), Device.cpu());
        Trainer trainer = new Trainer(model, List.of(), settings(50))) {
      List<Double> losses = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        Trainer.StepResult r = trainer.sftStep(batches);
        assertEquals(i + 1, r.step());
        assertTrue(Double.isFinite(r.gradNorm()) && r.gradNorm() > 0);
        losses.add(r.loss());
      }
      double first = losses.get(0);
      double last = losses.get(49);
      System.out.printf("memorisation: loss %.4f -> %.4f (ratio %.4f)%n", first, last, last / first);
      assertTrue(first > 3.0, "initial loss ~ ln(64) = 4.16 on random weights, got " + first);
      assertTrue(last < 0.2 * first, "final loss " + last + " not below 0.2 × initial " + first);
      assertEquals(batches.get(0).targetCount() + batches.get(1).targetCount(),
          (long) trainer.sftStep(batches).weight());
    }
  }

  @Test
  void shouldCountTheFloatsOfItsExportedStateBeforeAndAfterTheFirstStep() {
    try (LlamaModel model = LlamaModel.create(TinyModels.weights(42), Device.cpu());
        Trainer trainer = new Trainer(model, List.of(), settings(10))) {
      long params = model.namedParameters().values().stream().mapToLong(NDArray::size).sum();
      assertEquals(params, exportedFloats(trainer));
      assertEquals(params, trainer.stateFloats());
      trainer.sftStep(List.of(batch(0, 2)));
      assertEquals(3 * params, exportedFloats(trainer), "weights and two Adam moments per parameter");
      assertEquals(3 * params, trainer.stateFloats());
    }
  }

  private static long exportedFloats(Trainer trainer) {
    long[] floats = {0};
    trainer.exportState((part, t) -> floats[0] += t.data().length);
    return floats[0];
  }

  @Test
  void accumulatedMicroBatchesShouldTakeTheSameStepAsOneFullBatch() {
    TokenBatch full = batch(0, 4);
    List<TokenBatch> micro = List.of(batch(0, 1), batch(1, 3)); // unequal token counts on purpose
    try (LlamaModel a = LlamaModel.create(TinyModels.weights(5), Device.cpu());
        LlamaModel b = LlamaModel.create(TinyModels.weights(5), Device.cpu());
        Trainer ta = new Trainer(a, List.of(), settings(10));
        Trainer tb = new Trainer(b, List.of(), settings(10))) {
      double fullLogitsLoss;
      try (NDManager s = a.manager().newSubManager()) {
        NDArray ids = full.inputIds(s);
        fullLogitsLoss = CausalLmLoss.nllSum(a.forward(ids, full.attentionMask(s)).logits(), ids, full.lossMask(s))
            .getFloat() / full.targetCount();
      }
      Trainer.StepResult ra = ta.sftStep(List.of(full));
      Trainer.StepResult rb = tb.sftStep(micro);
      assertEquals(fullLogitsLoss, ra.loss(), 1e-5, "LM head on target rows only = loss on full logits");
      assertEquals(ra.loss(), rb.loss(), 1e-5);
      assertEquals(ra.gradNorm(), rb.gradNorm(), 1e-4 * ra.gradNorm());
      a.namedParameters().forEach((k, p) ->
          assertArrayEquals(p.toFloatArray(), b.namedParameters().get(k).toFloatArray(), 2e-6f, k));
    }
  }

  @Test
  void lmHeadInPiecesShouldTakeTheSameStepAsOnePass() {
    List<TokenBatch> batches = List.of(batch(0, 2), batch(2, 2));
    try (LlamaModel a = LlamaModel.create(TinyModels.weights(6), Device.cpu());
        LlamaModel b = LlamaModel.create(TinyModels.weights(6), Device.cpu());
        Trainer ta = new Trainer(a, List.of(), settings(10));
        Trainer tb = new Trainer(b, List.of(), settings(10))) {
      Trainer.MicroBatchLoss<TokenBatch> pieces = ta.causalLmLoss(3); // 3 target rows per LM-head piece
      Trainer.MicroBatchLoss<TokenBatch> sft = tb.causalLmLoss();
      Trainer.MicroBatchLoss<TokenBatch> onePass = new Trainer.MicroBatchLoss<>() { // default backward
        @Override
        public double weight(TokenBatch mb) {
          return sft.weight(mb);
        }

        @Override
        public NDArray lossSum(NDManager scratch, TokenBatch mb) {
          return sft.lossSum(scratch, mb);
        }
      };
      Trainer.StepResult ra = ta.step(batches, pieces);
      Trainer.StepResult rb = tb.step(batches, onePass);
      assertEquals(rb.loss(), ra.loss(), 1e-6);
      assertEquals(rb.gradNorm(), ra.gradNorm(), 1e-5 * rb.gradNorm());
      a.namedParameters().forEach((k, p) ->
          assertArrayEquals(b.namedParameters().get(k).toFloatArray(), p.toFloatArray(), 2e-6f, k));
    }
  }

  @Test
  void shouldResumeFromACheckpointWithIdenticalLogitsAndABitIdenticalNextStep() throws IOException {
    List<TokenBatch> batches = List.of(batch(0, 2), batch(2, 2));
    Path ckpt = dir.resolve("ckpt");
    try (LlamaModel a = LlamaModel.create(TinyModels.weights(9), Device.cpu());
        NDManager headsA = a.manager().newSubManager();
        ScalarHead valueA = ScalarHead.create(ScalarHead.VALUE_HEAD, 32, new TrainRng(1), headsA);
        Trainer ta = new Trainer(a, List.of(valueA), settings(20))) {
      for (int i = 0; i < 3; i++) {
        ta.step(batches, sftPlusValueLoss(a, valueA));
      }
      TrainRng rng = new TrainRng(77);
      rng.nextLong();
      CheckpointStore.save(ckpt, ta.checkpoint(12, rng.state(), Map.of("note", "t"), Optional.empty()));
      Checkpoint loaded = CheckpointStore.load(ckpt);
      assertEquals(3, loaded.trainerState().orElseThrow().step());
      assertEquals(rng.nextLong(), new TrainRng(loaded.trainerState().get().rngState()).nextLong());

      try (LlamaModel b = LlamaModel.create(loaded.model(), Device.cpu());
          NDManager headsB = b.manager().newSubManager();
          ScalarHead valueB = ScalarHead.fromTensors(ScalarHead.VALUE_HEAD, 32, loaded.heads(), headsB);
          Trainer tb = new Trainer(b, List.of(valueB), settings(20))) {
        tb.restore(loaded);
        assertEquals(3, tb.step());
        assertArrayEquals(inferenceLogits(a, batches.get(0)), inferenceLogits(b, batches.get(0)), 0f);

        Trainer.StepResult ra = ta.step(batches, sftPlusValueLoss(a, valueA));
        Trainer.StepResult rb = tb.step(batches, sftPlusValueLoss(b, valueB));
        assertEquals(4, rb.step());
        assertEquals(ra.loss(), rb.loss(), 0.0);
        assertEquals(ra.lr(), rb.lr(), 0.0);
        ta.parameters().forEach((k, p) ->
            assertArrayEquals(p.toFloatArray(), tb.parameters().get(k).toFloatArray(), 0f, "weights of " + k));
        Checkpoint ca = ta.checkpoint(0, 0, Map.of(), Optional.empty());
        Checkpoint cb = tb.checkpoint(0, 0, Map.of(), Optional.empty());
        ca.optimizer().get().secondMoments().forEach((k, t) ->
            assertArrayEquals(t.data(), cb.optimizer().get().secondMoments().get(k).data(), 0f, "v of " + k));
      }
    }
  }

  @Test
  void shouldSkipAStepWithNonFiniteGradientsAndLeaveWeightsUntouched() {
    TokenBatch batch = batch(0, 2);
    try (LlamaModel model = LlamaModel.create(TinyModels.weights(8), Device.cpu());
        Trainer trainer = new Trainer(model, List.of(), settings(10))) {
      Trainer.MicroBatchLoss<TokenBatch> sft = trainer.causalLmLoss();
      Map<String, float[]> before = new java.util.HashMap<>();
      model.namedParameters().forEach((k, p) -> before.put(k, p.toFloatArray()));
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> trainer.step(List.of(batch),
          new Trainer.MicroBatchLoss<>() {
            @Override
            public double weight(TokenBatch mb) {
              return sft.weight(mb);
            }

            @Override
            public NDArray lossSum(NDManager scratch, TokenBatch mb) {
              return sft.lossSum(scratch, mb).mul(scratch.create(Float.POSITIVE_INFINITY));
            }
          }));
      assertTrue(e.getMessage().startsWith("Gradient norm is NaN at step 1 (first non-finite gradient: "
          + "model.embed_tokens.weight"), e.getMessage());
      assertEquals(0, trainer.step());
      model.namedParameters().forEach((k, p) -> assertArrayEquals(before.get(k), p.toFloatArray(), 0f, k));
      // The dropped gradients do not leak into the next, healthy step.
      try (LlamaModel fresh = LlamaModel.create(TinyModels.weights(8), Device.cpu());
          Trainer clean = new Trainer(fresh, List.of(), settings(10))) {
        assertEquals(clean.sftStep(List.of(batch)).gradNorm(), trainer.sftStep(List.of(batch)).gradNorm(), 0.0);
      }
      IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> trainer.sftStep(List.of(
          new TokenBatch(1, 2, new int[] {1, 64}, new int[] {1, 1}, new int[] {0, 1}))));
      assertEquals("Token id 64 is outside the vocabulary of 64", bad.getMessage());
    }
  }

  @Test
  // Regression test for a use-after-free: DJL on the CPU backs a Java number passed to an op (x.mul(0.5f),
  // x.pow(-0.5f)) with a direct buffer that is freed once DJL closes the temporary NDArray, but autograd keeps the
  // tensor for backward; a GC before backward then corrupts the gradients. LlamaModel's training forward must pass
  // such constants as long-lived NDArrays or avoid them (rmsNorm: x.div(sqrt(mean(x²) + eps)); attention scores:
  // a scale NDArray the model keeps).
  void aGarbageCollectionBetweenForwardAndBackwardShouldNotChangeTheStep() {
    TokenBatch batch = batch(0, 2);
    try (LlamaModel a = LlamaModel.create(TinyModels.weights(8), Device.cpu());
        LlamaModel b = LlamaModel.create(TinyModels.weights(8), Device.cpu());
        Trainer ta = new Trainer(a, List.of(), settings(10));
        Trainer tb = new Trainer(b, List.of(), settings(10))) {
      Trainer.StepResult calm = ta.sftStep(List.of(batch));
      Trainer.MicroBatchLoss<TokenBatch> sft = tb.causalLmLoss();
      Trainer.StepResult collected = tb.step(List.of(batch), new Trainer.MicroBatchLoss<>() {
        @Override
        public double weight(TokenBatch mb) {
          return sft.weight(mb);
        }

        @Override
        public NDArray lossSum(NDManager scratch, TokenBatch mb) {
          NDArray loss = sft.lossSum(scratch, mb);
          for (int i = 0; i < 3; i++) {
            System.gc();
            try {
              Thread.sleep(100);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          return loss;
        }
      });
      assertEquals(calm.gradNorm(), collected.gradNorm(), 0.0,
          "a GC between forward and backward changed the gradients: a number operand was freed before backward");
      a.namedParameters().forEach((k, p) ->
          assertArrayEquals(p.toFloatArray(), b.namedParameters().get(k).toFloatArray(), 0f, k));
    }
  }

  /** SFT loss plus a value head regressed to 0.5 on every real token: exercises head gradients and moments. */
  private static Trainer.MicroBatchLoss<TokenBatch> sftPlusValueLoss(LlamaModel model, ScalarHead head) {
    return new Trainer.MicroBatchLoss<>() {
      @Override
      public double weight(TokenBatch b) {
        return b.targetCount();
      }

      @Override
      public NDArray lossSum(NDManager scratch, TokenBatch b) {
        NDArray ids = b.inputIds(scratch);
        NDArray mask = b.attentionMask(scratch);
        var out = model.forward(ids, mask);
        NDArray values = head.perToken(out.hidden());
        NDArray valueLoss = values.sub(0.5f).square().mul(mask.toType(ai.djl.ndarray.types.DataType.FLOAT32, false))
            .sum();
        return CausalLmLoss.nllSum(out.logits(), ids, b.lossMask(scratch)).add(valueLoss);
      }
    };
  }

  private static float[] inferenceLogits(LlamaModel m, TokenBatch b) {
    try (NDManager s = m.manager().newSubManager()) {
      return m.inferenceLogits(m.inferenceHidden(b.inputIds(s), b.attentionMask(s))).toFloatArray();
    }
  }

  private static Trainer.Settings settings(long totalSteps) {
    return new Trainer.Settings(new AdamW.Settings(0.9, 0.95, 1e-8, 0.01),
        new LinearWarmupDecay(1e-2, 5, totalSteps, 0.1), 1.0);
  }

  /**
   * Rows {@code first .. first+n-1} of four fixed sequences: a 4-token prompt (not learned), a response of
   * 5 to 8 tokens (learned), then right padding.
   */
  static TokenBatch batch(int first, int n) {
    int[][] responses = {
        {10, 11, 12, 13, 14, 15, 16, 1},
        {20, 21, 22, 23, 24, 1},
        {30, 31, 32, 33, 34, 35, 1},
        {40, 41, 42, 43, 1},
    };
    int[] ids = new int[n * SEQ];
    int[] attn = new int[n * SEQ];
    int[] loss = new int[n * SEQ];
    for (int r = 0; r < n; r++) {
      int row = first + r;
      int[] prompt = {3 + row, 50, 51 + row, 52};
      int pos = 0;
      for (int p : prompt) {
        ids[r * SEQ + pos] = p;
        attn[r * SEQ + pos++] = 1;
      }
      for (int t : responses[row]) {
        ids[r * SEQ + pos] = t;
        attn[r * SEQ + pos] = 1;
        loss[r * SEQ + pos++] = 1;
      }
      while (pos < SEQ) {
        ids[r * SEQ + pos++] = TinyModels.PAD;
      }
    }
    return new TokenBatch(n, SEQ, ids, attn, loss);
  }
}
