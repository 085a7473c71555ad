package dev.cai.runtime.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.eval.RewardModel;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.io.CheckpointStore;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.ComputeThreads;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.LoadedModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Continual RLAIF's refresh: a trained PM goes on training from its own head, and is normalised on new samples. */
class PreferenceRefreshTest {
  @TempDir static Path shared;
  @TempDir Path dir;
  private static Path pm;

  @BeforeAll
  static void trainAPm() throws Exception {
    ComputeThreads.set(1);
    Path gguf = shared.resolve("tiny.gguf");
    TinyLlama.write(gguf, 5, GgmlType.F32);
    pm = TinyPreferenceModel.train(gguf, shared);
  }

  /** "safe" replies preferred to "harsh" ones (p = 0.9, the preferred one at either position). */
  private static List<PreferenceData.Example> examples(int n) {
    List<PreferenceData.Example> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      boolean first = i % 2 == 0;
      out.add(new PreferenceData.Example(List.of(ChatMessage.user("question " + i)), first ? "a safe answer" : "harsh words",
          first ? "harsh words" : "a safe answer", first ? 0.9 : 0.1));
    }
    return out;
  }

  private static double margin(Path model, List<PreferenceData.Example> es) {
    try (RewardModel rm = RewardModel.load(model, DeviceSetting.CPU)) {
      List<List<ChatMessage>> convs = es.stream().map(PreferenceData.Example::conversation).toList();
      double[] safe = rm.rawScores(convs, es.stream().map(e -> "a safe answer").toList());
      double[] harsh = rm.rawScores(convs, es.stream().map(e -> "harsh words").toList());
      double m = 0;
      for (int i = 0; i < safe.length; i++) {
        m += (safe[i] - harsh[i]) / safe.length;
      }
      return m;
    }
  }

  @Test
  void shouldStartFromThePmsOwnRewardHead() throws Exception {
    Map<String, HostTensor> head = RewardModel.rewardHead(pm);
    try (LoadedModel m = ModelFiles.load(pm); LlamaModel model = LlamaModel.create(m.weights(), DeviceSetting.CPU)) {
      var heads = PreferenceData.objective(m.weights().config(), head).heads(model, new TrainRng(99));
      String w = ScalarHead.weightName(ScalarHead.REWARD_HEAD);
      assertArrayEquals(head.get(w).data(), heads.get(0).export().get(w).data(), 0f, "not a fresh seeded head");
      heads.forEach(ScalarHead::close);
    }
  }

  @Test
  void shouldMoveThePmTowardsTheNewLabelsAndNormaliseOnTheNewSamples() throws Exception {
    List<PreferenceData.Example> train = examples(8);
    double before = margin(pm, train);
    Path out = dir.resolve("v0001");
    assertFalse(PreferenceRefresh.isComplete(out));
    // one step only (8 pairs, batches of 8): it must learn too
    PreferenceRefresh.Result r = PreferenceRefresh.run(pm, train, train.subList(6, 8), out,
        new TrainingRun.Settings(1, 8, 4, 5e-3, 0, 0, 1.0, Integer.MAX_VALUE, 3), 256, DeviceSetting.CPU, s -> { });
    assertEquals(1, r.training().steps());
    assertEquals(8, r.pairs());
    assertTrue(PreferenceRefresh.isComplete(out));
    assertFalse(Files.exists(out.resolve("checkpoints")), "no optimizer checkpoints left behind");
    assertFalse(Files.exists(r.model().resolve(CheckpointStore.OPTIMIZER)), "nor optimizer moments in the model");
    double after = margin(r.model(), train);
    assertTrue(after > before + 1e-3, "the PM prefers the safe answer more: margin " + before + " -> " + after);

    // normalised on both replies of the last two pairs: there, mean 0 and std 1
    assertEquals(4, r.normalization().get("samples").getAsInt());
    try (RewardModel rm = RewardModel.load(r.model(), DeviceSetting.CPU)) {
      double[] raw = rm.rawScoresOfBoth(train.subList(6, 8));
      double mean = 0;
      double sq = 0;
      for (double x : raw) {
        mean += rm.normalize(x) / raw.length;
        sq += rm.normalize(x) * rm.normalize(x) / raw.length;
      }
      assertEquals(0, mean, 1e-4);
      assertEquals(1, Math.sqrt(sq - mean * mean), 1e-3);
    }
  }

  @Test
  void shouldRefuseARefreshWithoutAnyPairThatFits() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PreferenceRefresh.run(pm,
        examples(2), examples(2), dir.resolve("v0001"), new TrainingRun.Settings(1, 2, 2, 1e-3, 0, 0, 1.0, 10, 3), 4,
        DeviceSetting.CPU, s -> { }));
    assertTrue(e.getMessage().contains(pm.toString()) && e.getMessage().contains("longer than 4 tokens"), e.getMessage());
  }
}
