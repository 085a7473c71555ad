package dev.cai.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.model.DeviceSetting;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The real runtime behind a model actor, on a tiny random GGUF model the test writes itself. */
@ExtendWith(TestKitJUnit5Extension.class)
class GenerationModelTest {
  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();
  @TempDir static Path dir;
  private static Path modelFile;

  private static final BatchingSettings BATCHING =
      new BatchingSettings(8, Duration.ofMillis(30), 64, Duration.ofMillis(100), Duration.ofSeconds(1));

  @BeforeAll
  static void writeModel() throws Exception {
    modelFile = dir.resolve("tiny.gguf");
    TinyLlama.write(modelFile, 5, GgmlType.Q8_0);
  }

  private List<StatusReply<Completion>> ask(ActorRef<ModelActor.Command<GenerateRequest, Completion>> actor,
      List<GenerateRequest> requests) {
    List<TestProbe<StatusReply<Completion>>> probes = new ArrayList<>();
    for (GenerateRequest r : requests) {
      TestProbe<StatusReply<Completion>> p = testKit.createTestProbe();
      probes.add(p);
      actor.tell(new ModelActor.Submit<>(r, p.getRef()));
    }
    return probes.stream().map(p -> p.receiveMessage(Duration.ofSeconds(30))).toList();
  }

  @Test
  void shouldAnswerEachRequestAloneOrBatchedWithTheSameSampleForTheSameSeed() {
    ActorRef<ModelActor.Command<GenerateRequest, Completion>> actor = testKit.spawn(ModelActor.create("policy",
        () -> ModelLoading.generation(modelFile, DeviceSetting.CPU), BATCHING));
    GenerationSettings s = GenerationSettings.sampling(12, 1.0, 0).withStopAtEos(false);
    GenerateRequest target = new GenerateRequest(Transcript.ofHuman("hello there"), s.withSeed(31));
    Completion alone = ask(actor, List.of(target)).get(0).getValue();
    List<StatusReply<Completion>> batched = ask(actor, List.of(
        new GenerateRequest(Transcript.ofHuman("a much longer question with more words in it"), s.withSeed(1)),
        target,
        new GenerateRequest(Transcript.of("hi", "yo").with(Transcript.Speaker.HUMAN, "again"), s.withSeed(2))));
    assertEquals(alone, batched.get(1).getValue());
    assertEquals(12, alone.completionTokens());
    assertTrue(alone.promptTokens() > 3, "ChatML framing is part of the prompt");
    assertTrue(!alone.text().isEmpty());
  }

  @Test
  void shouldRejectAPromptThatDoesNotFitTheContextAndServeTheOthers() {
    ActorRef<ModelActor.Command<GenerateRequest, Completion>> actor = testKit.spawn(ModelActor.create("policy",
        () -> ModelLoading.generation(modelFile, DeviceSetting.CPU), BATCHING));
    GenerationSettings s = GenerationSettings.sampling(8, 1.0, 0);
    List<StatusReply<Completion>> replies = ask(actor, List.of(
        new GenerateRequest(Transcript.ofHuman("word ".repeat(5000)), s.withSeed(1)),
        new GenerateRequest(Transcript.ofHuman("short"), s.withSeed(2))));
    assertTrue(replies.get(0).isError());
    assertTrue(replies.get(0).getError().getMessage().contains("exceeds the model context of"),
        replies.get(0).getError().getMessage());
    assertTrue(replies.get(1).isSuccess());
  }
}
