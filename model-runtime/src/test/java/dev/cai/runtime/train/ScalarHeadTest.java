package dev.cai.runtime.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.model.TinyModels;
import dev.cai.runtime.weights.HostTensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScalarHeadTest {

  @Test
  void shouldReadTheLastRealTokenUnderLeftAndRightPadding() {
    int[][] masks = {{0, 0, 1, 1, 1}, {1, 1, 1, 0, 0}, {1, 1, 1, 1, 1}, {0, 1, 0, 0, 0}};
    float[] w = {0.5f, -1f, 2f};
    float[] hidden = new float[4 * 5 * 3];
    for (int i = 0; i < hidden.length; i++) {
      hidden[i] = (float) Math.sin(i * 0.7);
    }
    try (NDManager m = NDManager.newBaseManager();
        ScalarHead head = ScalarHead.fromTensors("reward_head", 3, Map.of(
            "reward_head.weight", new HostTensor("reward_head.weight", new long[] {1, 3}, w),
            "reward_head.bias", new HostTensor("reward_head.bias", new long[] {1}, new float[] {0.25f})), m)) {
      int[] flat = new int[20];
      for (int r = 0; r < 4; r++) {
        System.arraycopy(masks[r], 0, flat, r * 5, 5);
      }
      NDArray mask = m.create(flat, new Shape(4, 5));
      NDArray h = m.create(hidden, new Shape(4, 5, 3));
      assertArrayEquals(new long[] {4, 2, 4, 1}, ScalarHead.lastRealIndex(mask).toLongArray());
      float[] scores = head.atLastToken(h, mask).toFloatArray();
      float[] perToken = head.perToken(h).toFloatArray();
      assertEquals(20, perToken.length);
      for (int r = 0; r < 4; r++) {
        int last = ScalarHead.lastRealIndex(masks[r]);
        double want = 0.25;
        for (int k = 0; k < 3; k++) {
          want += w[k] * hidden[(r * 5 + last) * 3 + k];
        }
        assertEquals(want, scores[r], 1e-6, "row " + r);
        assertEquals(want, perToken[r * 5 + last], 1e-6, "row " + r);
      }
      NDArray empty = m.create(new int[] {1, 1, 0, 0}, new Shape(2, 2));
      assertThrows(IllegalArgumentException.class, () -> ScalarHead.lastRealIndex(empty));
    }
  }

  @Test
  void rewardHeadShouldLearnToRankTwoSequences() {
    // A preference-style objective on the reward at the last real token: r(A) → +1, r(B) → −1.
    TokenBatch both = TrainerTest.batch(0, 2);
    float[] target = {1f, -1f};
    try (LlamaModel model = LlamaModel.create(TinyModels.weights(3), Device.cpu());
        NDManager hm = model.manager().newSubManager();
        ScalarHead reward = ScalarHead.create(ScalarHead.REWARD_HEAD, 32, new TrainRng(4), hm);
        Trainer trainer = new Trainer(model, List.of(reward), new Trainer.Settings(AdamW.Settings.defaults(),
            new LinearWarmupDecay(5e-3, 0, 30, 1.0), 1.0))) {
      Trainer.MicroBatchLoss<TokenBatch> loss = new Trainer.MicroBatchLoss<>() {
        @Override
        public double weight(TokenBatch b) {
          return b.batchSize();
        }

        @Override
        public NDArray lossSum(NDManager s, TokenBatch b) {
          NDArray mask = b.attentionMask(s);
          NDArray r = reward.atLastToken(model.forwardHidden(b.inputIds(s), mask), mask);
          return r.sub(s.create(target)).square().sum();
        }
      };
      double first = trainer.step(List.of(both), loss).loss();
      double last = first;
      for (int i = 0; i < 29; i++) {
        last = trainer.step(List.of(both), loss).loss();
      }
      assertTrue(last < 0.05 * first, "reward regression loss " + first + " -> " + last);
      Map<String, HostTensor> exported = reward.export();
      assertEquals(List.of(1L, 32L), List.of(exported.get("reward_head.weight").shape()[0],
          exported.get("reward_head.weight").shape()[1]));
    }
  }

  @Test
  void shouldRefuseMisShapedCheckpointTensors() {
    try (NDManager m = NDManager.newBaseManager()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
          ScalarHead.fromTensors("value_head", 4, Map.of(
              "value_head.weight", new HostTensor("value_head.weight", new long[] {1, 3}, new float[3]),
              "value_head.bias", new HostTensor("value_head.bias", new long[] {1}, new float[1])), m));
      assertEquals("Head tensor 'value_head.weight' has shape [1, 3] but the model's hidden size needs [1, 4]",
          e.getMessage());
    }
  }
}
