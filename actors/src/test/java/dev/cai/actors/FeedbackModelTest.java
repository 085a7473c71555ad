package dev.cai.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.model.DeviceSetting;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The labeler's batched option scoring on a tiny random model. */
class FeedbackModelTest {
  @TempDir static Path dir;
  private static FeedbackModel model;

  @BeforeAll
  static void load() throws Exception {
    Path file = dir.resolve("tiny.gguf");
    TinyLlama.write(file, 9, GgmlType.F32);
    model = ModelLoading.feedback(file, DeviceSetting.CPU);
  }

  @AfterAll
  static void close() {
    model.close();
  }

  @Test
  void shouldScoreEachOptionTheSameAloneOrBatchedAndKeepTheirOrder() {
    ScoreOptionsRequest q1 = new ScoreOptionsRequest("which is kinder? The answer is:", " (A)", " (B)");
    ScoreOptionsRequest q2 = new ScoreOptionsRequest("a longer question about locks and keys. The answer is:", " (A)", " (B)");
    OptionScores alone = model.run(List.of(q1)).get(0).value();
    List<BatchModel.Outcome<OptionScores>> batch = model.run(List.of(q2, q1));
    assertEquals(alone.logProbA(), batch.get(1).value().logProbA(), 1e-4);
    assertEquals(alone.logProbB(), batch.get(1).value().logProbB(), 1e-4);
    assertTrue(alone.logProbA() < 0 && alone.logProbB() < 0);
    assertTrue(Math.abs(alone.logProbA() - alone.logProbB()) > 1e-6, "random weights do not tie");
    OptionScores swapped = model.run(List.of(new ScoreOptionsRequest(q1.context(), " (B)", " (A)"))).get(0).value();
    assertEquals(alone.logProbA(), swapped.logProbB(), 1e-5);
    assertEquals(alone.logProbB(), swapped.logProbA(), 1e-5);
  }

  @Test
  void shouldRejectAContextLongerThanTheModelAlone() {
    List<BatchModel.Outcome<OptionScores>> out = model.run(List.of(
        new ScoreOptionsRequest("word ".repeat(3000) + "The answer is:", " (A)", " (B)"),
        new ScoreOptionsRequest("short. The answer is:", " (A)", " (B)")));
    assertFalse(out.get(0).isOk());
    assertTrue(out.get(0).error().contains("more than the model context of 2048"), out.get(0).error());
    assertTrue(out.get(1).isOk());
  }
}
