package dev.cai.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.eval.RewardModel;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.train.TinyPreferenceModel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The preference actor serves normalised PM scores, equal to scoring the PM directly, batched or not. */
@ExtendWith(TestKitJUnit5Extension.class)
class PreferenceScorerTest {
  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  @Test
  void shouldScoreLikeThePreferenceModelItself(@TempDir Path dir) throws Exception {
    Path gguf = dir.resolve("tiny.gguf");
    TinyLlama.write(gguf, 2, GgmlType.F32);
    Path pmDir = TinyPreferenceModel.train(gguf, dir);
    double expected;
    try (RewardModel pm = RewardModel.load(pmDir, DeviceSetting.CPU)) {
      RewardModel.writeNormalization(pmDir, new double[] {-1, 0, 3});
    }
    try (RewardModel pm = RewardModel.load(pmDir, DeviceSetting.CPU)) {
      expected = pm.normalize(pm.rawScores(List.of(List.of(ChatMessage.user("hello"))), List.of("hi there"))[0]);
    }
    ActorRef<ModelActor.Command<ScoreRequest, Double>> actor = testKit.spawn(ModelActor.create("preference",
        () -> ModelLoading.preference(pmDir, DeviceSetting.CPU),
        new BatchingSettings(8, Duration.ofMillis(30), 64, Duration.ofMillis(100), Duration.ofSeconds(1))));
    TestProbe<StatusReply<Double>> a = testKit.createTestProbe();
    TestProbe<StatusReply<Double>> b = testKit.createTestProbe();
    TestProbe<StatusReply<Double>> tooLong = testKit.createTestProbe();
    actor.tell(new ModelActor.Submit<>(new ScoreRequest(Transcript.ofHuman("a longer first question here"), "ok"), b.getRef()));
    actor.tell(new ModelActor.Submit<>(new ScoreRequest(Transcript.ofHuman("hello"), "hi there"), a.getRef()));
    actor.tell(new ModelActor.Submit<>(new ScoreRequest(Transcript.ofHuman("word ".repeat(3000)), "x"), tooLong.getRef()));
    assertEquals(expected, a.receiveMessage(Duration.ofSeconds(30)).getValue(), 1e-4, "batched score = direct score");
    assertTrue(b.receiveMessage(Duration.ofSeconds(30)).isSuccess());
    assertTrue(tooLong.receiveMessage(Duration.ofSeconds(30)).getError().getMessage().contains("more than the context"));
  }
}
