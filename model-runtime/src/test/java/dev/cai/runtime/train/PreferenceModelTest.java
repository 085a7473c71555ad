package dev.cai.runtime.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.eval.PairEval;
import dev.cai.runtime.eval.RewardModel;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.ComputeThreads;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.weights.LoadedModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A preference model on a tiny random model learns soft labels, reloads from disk and normalises its scores. */
class PreferenceModelTest {
  @TempDir Path dir;

  private static final String[] GOOD = {"glad to help", "here is a safe way", "please stay kind"};
  private static final String[] BAD = {"hit him hard", "steal it now", "lie to them"};

  @Test
  void shouldLearnSoftPreferencesWhateverThePositionAndScoreHeldOutPairs() throws Exception {
    ComputeThreads.set(1);
    Path gguf = dir.resolve("tiny.gguf");
    TinyLlama.write(gguf, 11, GgmlType.F32);
    List<PreferenceData.Pair> train = new ArrayList<>();
    try (LoadedModel m = ModelFiles.load(gguf)) {
      for (int i = 0; i < 12; i++) {
        List<ChatMessage> conv = List.of(ChatMessage.user("question " + i));
        String good = GOOD[i % 3];
        String bad = BAD[(i + 1) % 3];
        boolean goodFirst = i % 2 == 0; // soft labels, the preferred reply at (A) or (B)
        train.add(PreferenceData.encode(conv, goodFirst ? good : bad, goodFirst ? bad : good, goodFirst ? 0.9 : 0.1,
            m.chatTemplate(), m.tokenizer(), 128).orElseThrow());
      }
      TrainingRun.Result r = TrainingRun.run(m, DeviceSetting.CPU, train, dir.resolve("pm"),
          new TrainingRun.Settings(15, 4, 2, 1e-2, 2, 0.0, 1.0, 20, 3L), PreferenceData.objective(m.weights().config()),
          s -> { });
      assertTrue(r.lastLoss() < r.firstLoss(), "loss " + r.firstLoss() + " -> " + r.lastLoss());
      // the soft-label optimum is p·log p + (1−p)·log(1−p) ≈ 0.325 for p = 0.9: the loss gets near it, not to 0
      assertTrue(r.lastLoss() < 0.45, "loss " + r.lastLoss());
    }
    Path pmDir = dir.resolve("pm/model");
    assertTrue(Files.isRegularFile(pmDir.resolve("heads.safetensors")));
    try (RewardModel pm = RewardModel.load(pmDir, DeviceSetting.CPU)) {
      List<List<ChatMessage>> convs = new ArrayList<>();
      List<String> chosen = new ArrayList<>();
      List<String> rejected = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        convs.add(List.of(ChatMessage.user("another question " + i)));
        chosen.add(GOOD[i % 3]);
        rejected.add(BAD[i % 3]);
      }
      double[] rc = pm.rawScores(convs, chosen);
      double[] rr = pm.rawScores(convs, rejected);
      PairEval.Report report = PairEval.evaluate(rc, rr, 10);
      assertEquals(1.0, report.accuracy(), 1e-12, "held-out prompts: good replies outscore bad ones");
      assertTrue(report.meanPChosen() > 0.6);

      double[] all = new double[12];
      System.arraycopy(rc, 0, all, 0, 6);
      System.arraycopy(rr, 0, all, 6, 6);
      RewardModel.writeNormalization(pmDir, all);
    }
    try (RewardModel pm = RewardModel.load(pmDir, DeviceSetting.CPU)) {
      List<List<ChatMessage>> convs = new ArrayList<>();
      List<String> replies = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        convs.add(List.of(ChatMessage.user("another question " + i)));
        replies.add(GOOD[i % 3]);
      }
      for (int i = 0; i < 6; i++) {
        convs.add(List.of(ChatMessage.user("another question " + i)));
        replies.add(BAD[i % 3]);
      }
      double[] raw = pm.rawScores(convs, replies);
      double mean = 0;
      double sq = 0;
      for (double x : raw) {
        mean += pm.normalize(x) / raw.length;
      }
      for (double x : raw) {
        sq += Math.pow(pm.normalize(x) - mean, 2) / raw.length;
      }
      assertEquals(0.0, mean, 1e-4, "normalised scores of the reference samples have mean 0");
      assertEquals(1.0, Math.sqrt(sq), 1e-3, "and std 1");
    }
  }
}
