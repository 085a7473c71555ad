package dev.cai.runtime.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.pytorch.jni.JniUtils;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.ComputeThreads;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.LoadedModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SFT on a tiny random model: learning, exact resume after an interruption, and a reloadable result. */
class SftRunTest {
  @TempDir static Path dir;
  private static Path gguf;

  @BeforeAll
  static void model() throws Exception {
    ComputeThreads.set(1);
    gguf = dir.resolve("tiny.gguf");
    TinyLlama.write(gguf, 4, GgmlType.F32);
  }

  private static List<SftData.Example> examples(LoadedModel m) {
    List<SftData.Example> out = new ArrayList<>();
    String[][] pairs = {{"hi", "hello there"}, {"lock?", "call a locksmith"}, {"sky?", "it is blue"}, {"2+2", "four"}};
    for (String[] p : pairs) {
      out.add(SftData.encode(List.of(ChatMessage.user(p[0])), p[1], m.chatTemplate(), m.tokenizer(), 256).orElseThrow());
    }
    return out;
  }

  private static final TrainingRun.Settings SETTINGS = new TrainingRun.Settings(25, 2, 1, 1e-2, 2, 0.0, 1.0, 4, 7L);

  @Test
  void shouldMaskThePromptAndLearnTheReplies() throws Exception {
    try (LoadedModel m = ModelFiles.load(gguf)) {
      SftData.Example e = examples(m).get(0);
      int prompt = m.tokenizer().encode(m.chatTemplate().render(List.of(ChatMessage.user("hi")), true)).length;
      for (int i = 0; i < e.ids().length; i++) {
        assertEquals(i < prompt ? 0 : 1, e.lossMask()[i], "position " + i);
      }
      assertTrue(SftData.encode(List.of(ChatMessage.user("x".repeat(600))), "y", m.chatTemplate(), m.tokenizer(), 64).isEmpty());

      List<Double> losses = new ArrayList<>();
      TrainingRun.Result r = TrainingRun.run(m, DeviceSetting.CPU, examples(m), dir.resolve("learn"), SETTINGS, SftData.objective(m.weights().config()), s -> losses.add(s.loss()));
      assertEquals(50, r.steps());
      assertTrue(r.lastLoss() < 0.5 * r.firstLoss(), "loss " + r.firstLoss() + " -> " + r.lastLoss());
      assertEquals(50, Files.readAllLines(dir.resolve("learn/train-metrics.jsonl")).size());
    }
  }

  @Test
  void shouldTrainOnAThreadWhereAutogradIsOn() throws Exception {
    // When the engine was started on another thread (an actor's), this thread has PyTorch's default: autograd on.
    boolean previous = JniUtils.isGradMode();
    JniUtils.setGradMode(true);
    try (LoadedModel m = ModelFiles.load(gguf)) {
      TrainingRun.Result r = TrainingRun.run(m, DeviceSetting.CPU, examples(m), dir.resolve("grad-on"),
          new TrainingRun.Settings(1, 2, 1, 1e-3, 0, 0.0, 1.0, 4, 7L), SftData.objective(m.weights().config()), s -> { });
      assertEquals(2, r.steps());
      assertTrue(JniUtils.isGradMode(), "the thread's mode is restored");
    } finally {
      JniUtils.setGradMode(previous);
    }
  }

  @Test
  void shouldResumeAnInterruptedRunToBitIdenticalWeights() throws Exception {
    try (LoadedModel m = ModelFiles.load(gguf)) {
      TrainingRun.run(m, DeviceSetting.CPU, examples(m), dir.resolve("straight"), SETTINGS, SftData.objective(m.weights().config()), s -> { });
      Path resumed = dir.resolve("resumed");
      RuntimeException crash = assertThrows(RuntimeException.class, () ->
          TrainingRun.run(m, DeviceSetting.CPU, examples(m), resumed, SETTINGS, SftData.objective(m.weights().config()), s -> {
            if (s.step() == 6) {
              throw new RuntimeException("simulated crash after step 6 (last checkpoint: step 4)");
            }
          }));
      assertTrue(crash.getMessage().startsWith("simulated crash"));
      TrainingRun.Result r = TrainingRun.run(m, DeviceSetting.CPU, examples(m), resumed, SETTINGS, SftData.objective(m.weights().config()), s -> { });
      assertEquals(4, r.resumedAt());
      assertEquals(50, Files.readAllLines(resumed.resolve("train-metrics.jsonl")).size(), "no duplicated metric lines");
      try (LoadedModel a = ModelFiles.load(dir.resolve("straight/model"));
           LoadedModel b = ModelFiles.load(resumed.resolve("model"))) {
        for (HostTensor t : a.weights().tensors().values()) {
          assertArrayEquals(t.data(), b.weights().require(t.name()).data(), t.name());
        }
        assertEquals(m.chatTemplate().format(), b.chatTemplate().format(), "the chat template travels with the model");
        assertArrayEquals(m.tokenizer().encode("<|im_start|>user\nhello<|im_end|>"), b.tokenizer().encode("<|im_start|>user\nhello<|im_end|>"));
        assertEquals(m.tokenizer().eosTokenId(), b.tokenizer().eosTokenId());
      }
    }
  }
}
