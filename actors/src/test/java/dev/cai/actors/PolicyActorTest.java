package dev.cai.actors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.GeneratedSequence;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.generate.Generator;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.weights.LoadedModel;
import dev.cai.runtime.weights.ModelWeights;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
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

/** The PPO policy actor on a tiny random model: version gate, weight swaps, restarts. */
@ExtendWith(TestKitJUnit5Extension.class)
class PolicyActorTest {
  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();
  @TempDir static Path dir;
  private static Path modelFile;
  private static ModelWeights otherWeights;

  private static final GenerationSettings SAMPLING = GenerationSettings.sampling(8, 0.9, 0).withStopAtEos(false);
  private static final PolicyActor.Settings SETTINGS =
      new PolicyActor.Settings(SAMPLING, 16, 2, Duration.ofMillis(100), Duration.ofMillis(400));
  private static final List<Transcript> PROMPTS = List.of(Transcript.ofHuman("hello there"),
      Transcript.ofHuman("a longer question with more words"), Transcript.ofHuman("why?"));
  private static final long[] SEEDS = {11, 12, 13};

  @BeforeAll
  static void writeModel() throws Exception {
    modelFile = dir.resolve("tiny.gguf");
    TinyLlama.write(modelFile, 5, GgmlType.F32);
    try (LoadedModel m = ModelFiles.load(modelFile)) {
      otherWeights = TinyLlama.randomWeights(m.weights().config(), 99, "version-1");
    }
  }

  private ActorRef<PolicyActor.Command> spawn(PublishedPolicy published) {
    return testKit.spawn(PolicyActor.create("policy", () -> ModelLoading.policy(modelFile, DeviceSetting.CPU),
        published, SETTINGS));
  }

  private TestProbe<StatusReply<PolicyActor.RolloutsGenerated>> generate(ActorRef<PolicyActor.Command> policy,
      long version) {
    TestProbe<StatusReply<PolicyActor.RolloutsGenerated>> probe = testKit.createTestProbe();
    policy.tell(new PolicyActor.GenerateRollouts(PROMPTS, SEEDS, version, probe.getRef()));
    return probe;
  }

  private PolicyActor.RolloutsGenerated ok(TestProbe<StatusReply<PolicyActor.RolloutsGenerated>> probe) {
    StatusReply<PolicyActor.RolloutsGenerated> reply = probe.receiveMessage(Duration.ofSeconds(30));
    assertTrue(reply.isSuccess(), () -> "expected rollouts, got " + reply.getError());
    return reply.getValue();
  }

  private void update(ActorRef<PolicyActor.Command> policy, long version, ModelWeights weights) {
    TestProbe<StatusReply<PolicyActor.WeightsUpdated>> ack = testKit.createTestProbe();
    policy.tell(new PolicyActor.UpdateWeights(version, weights, ack.getRef()));
    assertEquals(version, ack.receiveMessage(Duration.ofSeconds(30)).getValue().version());
  }

  @Test
  void shouldServeTheRequiredVersionWithTheGeneratorsTokensAndTemperatureLogProbs() throws Exception {
    PolicyActor.RolloutsGenerated r = ok(generate(spawn(new PublishedPolicy(0)), 0));
    assertEquals(0, r.version());
    assertEquals(3, r.samples().size());
    try (LoadedModel m = ModelFiles.load(modelFile); LlamaModel model = LlamaModel.create(m.weights(), DeviceSetting.CPU)) {
      List<int[]> prompts = PROMPTS.stream()
          .map(t -> m.tokenizer().encode(m.chatTemplate().render(t.messages(), true))).toList();
      List<GeneratedSequence> direct = new Generator(model).generate(prompts, SEEDS, SAMPLING, null).sequences();
      for (int i = 0; i < 3; i++) {
        PolicySample s = r.samples().get(i).value();
        assertArrayEquals(prompts.get(i), s.promptIds(), "chat-rendered prompt ids");
        assertArrayEquals(direct.get(i).tokens(), s.responseIds(), "same seed, same tokens");
        assertArrayEquals(direct.get(i).logProbs(), s.logProbs(), 1e-5f, "log_softmax(logits / T) of each token");
        assertEquals(8, s.responseIds().length);
        assertFalse(s.endedWithEos(), "stop-at-EOS off: cut at max-new-tokens");
      }
    }
  }

  @Test
  void shouldStashAFutureVersionUntilItsWeightsArriveAndThenServeItWithTheNewWeights() {
    ActorRef<PolicyActor.Command> policy = spawn(new PublishedPolicy(0));
    PolicyActor.RolloutsGenerated v0 = ok(generate(policy, 0));
    TestProbe<StatusReply<PolicyActor.RolloutsGenerated>> waiting = generate(policy, 1);
    waiting.expectNoMessage(Duration.ofMillis(500));
    update(policy, 1, otherWeights);
    PolicyActor.RolloutsGenerated v1 = ok(waiting);
    assertEquals(1, v1.version());
    for (int i = 0; i < 3; i++) {
      assertFalse(Arrays.equals(v0.samples().get(i).value().logProbs(), v1.samples().get(i).value().logProbs()),
          "new weights, new log-probs for prompt " + i);
    }
  }

  @Test
  void shouldFailARequestForAnOlderVersionAndRefuseToGoBack() {
    ActorRef<PolicyActor.Command> policy = spawn(new PublishedPolicy(0));
    update(policy, 1, otherWeights);
    StatusReply<PolicyActor.RolloutsGenerated> old = generate(policy, 0).receiveMessage(Duration.ofSeconds(30));
    assertTrue(old.isError());
    assertTrue(old.getError().getMessage().contains("serves policy version 1 but the request requires version 0"),
        old.getError().getMessage());
    TestProbe<StatusReply<PolicyActor.WeightsUpdated>> back = testKit.createTestProbe();
    policy.tell(new PolicyActor.UpdateWeights(0, otherWeights, back.getRef()));
    assertTrue(back.receiveMessage(Duration.ofSeconds(30)).getError().getMessage().contains("cannot go back"));
  }

  @Test
  void shouldBoundTheStashOfFutureVersions() {
    ActorRef<PolicyActor.Command> policy = spawn(new PublishedPolicy(0));
    generate(policy, 3);
    generate(policy, 3);
    StatusReply<PolicyActor.RolloutsGenerated> third = generate(policy, 3).receiveMessage(Duration.ofSeconds(30));
    assertTrue(third.getError().getMessage().contains("already holds 2 requests waiting for newer weights"));
  }

  @Test
  void shouldRestartAfterAFailureWithTheLatestPublishedWeightsNotTheBaseOnes() throws Exception {
    PublishedPolicy published = new PublishedPolicy(0);
    AtomicInteger loads = new AtomicInteger();
    ActorRef<PolicyActor.Command> policy = testKit.spawn(PolicyActor.create("policy", () -> {
      loads.incrementAndGet();
      return ModelLoading.policy(modelFile, DeviceSetting.CPU);
    }, published, SETTINGS));
    published.publish(1, otherWeights);
    update(policy, 1, otherWeights);
    PolicyActor.RolloutsGenerated before = ok(generate(policy, 1));

    LlamaConfig config = otherWeights.config();
    LlamaConfig wrong = new LlamaConfig(config.vocabSize(), config.hiddenSize(), config.intermediateSize() * 2,
        config.numLayers(), config.numHeads(), config.numKvHeads(), config.headDim(), config.ropeTheta(),
        config.rmsNormEps(), config.maxPositionEmbeddings(), config.tieWordEmbeddings(), config.bosTokenId(),
        config.eosTokenId(), config.padTokenId());
    TestProbe<StatusReply<PolicyActor.WeightsUpdated>> broken = testKit.createTestProbe();
    policy.tell(new PolicyActor.UpdateWeights(2, TinyLlama.randomWeights(wrong, 1, "broken"), broken.getRef()));
    StatusReply<PolicyActor.WeightsUpdated> failure = broken.receiveMessage(Duration.ofSeconds(30));
    assertTrue(failure.isError());
    assertTrue(failure.getError().getMessage().startsWith("policy model tiny failed: "), failure.getError().getMessage());

    PolicyActor.RolloutsGenerated after = ok(generate(policy, 1)); // waits out the restart backoff
    assertEquals(2, loads.get(), "the model was reloaded");
    assertEquals(1, after.version(), "still version 1 after the restart");
    for (int i = 0; i < 3; i++) {
      assertArrayEquals(before.samples().get(i).value().logProbs(), after.samples().get(i).value().logProbs(),
          "the published version-1 weights, not the base ones");
    }
  }

  @Test
  void shouldSkipAPromptTooLongForTheContextAndServeTheOthers() {
    ActorRef<PolicyActor.Command> policy = spawn(new PublishedPolicy(0));
    TestProbe<StatusReply<PolicyActor.RolloutsGenerated>> probe = testKit.createTestProbe();
    policy.tell(new PolicyActor.GenerateRollouts(List.of(Transcript.ofHuman("word ".repeat(5000)),
        Transcript.ofHuman("short")), new long[] {1, 2}, 0, probe.getRef()));
    PolicyActor.RolloutsGenerated r = ok(probe);
    assertTrue(r.samples().get(0).error().contains("exceeds the model context of"), r.samples().get(0).error());
    assertTrue(r.samples().get(1).isOk());
  }
}
