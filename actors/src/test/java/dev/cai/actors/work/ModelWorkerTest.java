package dev.cai.actors.work;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.actors.BatchModel;
import dev.cai.actors.Completion;
import dev.cai.actors.GenerateRequest;
import dev.cai.actors.ModelActor;
import dev.cai.actors.OptionScores;
import dev.cai.actors.PolicyActor;
import dev.cai.actors.PolicySample;
import dev.cai.actors.ScoreOptionsRequest;
import dev.cai.protocol.v1.ChatTurn;
import dev.cai.protocol.v1.GenerateWork;
import dev.cai.protocol.v1.WorkReply;
import dev.cai.protocol.v1.WorkRequest;
import dev.cai.protocol.v1.WorkerInfoQuery;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.GenerationSettings;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestKitJUnit5Extension.class)
class ModelWorkerTest {
  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private final TestProbe<ModelActor.Command<GenerateRequest, Completion>> generator = testKit.createTestProbe();
  private final TestProbe<WorkReply> replies = testKit.createTestProbe();

  private ActorRef<WorkRequest> policyWorker() {
    return testKit.spawn(ModelWorker.create("policy", new ModelWorker.Models(Optional.of(generator.ref()),
        Optional.<ActorRef<ModelActor.Command<ScoreOptionsRequest, OptionScores>>>empty(), Optional.empty()), "tiny-7", "",
        Duration.ofSeconds(5)));
  }

  private WorkRequest.Builder request(String id) {
    return WorkRequest.newBuilder().setId(id).setReplyTo(ActorRefResolver.get(testKit.system()).toSerializationFormat(replies.ref()));
  }

  @Test
  @SuppressWarnings("unchecked")
  void shouldServeGenerateWorkWithItsModelActorAndTheSettingsSent() {
    ActorRef<WorkRequest> worker = policyWorker();
    Transcript conversation = new Transcript(List.of(new Transcript.Turn(Transcript.Speaker.HUMAN, "How do I pick a lock?"),
        new Transcript.Turn(Transcript.Speaker.ASSISTANT, "Why?"), new Transcript.Turn(Transcript.Speaker.HUMAN, "I'm locked out.")));
    GenerationSettings settings = GenerationSettings.sampling(48, 0.7, 1234).withTopP(0.9).withTopK(40)
        .withStopStrings(List.of("\n\nHuman:"));
    worker.tell(request("w-1").setGenerate(WorkCodec.generate(conversation, settings)).build());
    var submit = (ModelActor.Submit<GenerateRequest, Completion>) generator.receiveMessage();
    assertEquals(new GenerateRequest(conversation, settings), submit.request()); // conversation and every setting survive
    submit.replyTo().tell(StatusReply.success(new Completion("Call a locksmith.", 21, 5, true)));
    WorkReply r = replies.receiveMessage();
    assertEquals("w-1", r.getId());
    assertEquals("tiny-7", r.getModelId());
    assertEquals(new Completion("Call a locksmith.", 21, 5, true), WorkCodec.completion(r.getCompletion()));
  }

  @Test
  @SuppressWarnings("unchecked")
  void shouldAnswerEveryRequestItCannotServeWithAnErrorReply() {
    ActorRef<WorkRequest> worker = policyWorker();
    worker.tell(request("w-2").setScoreOptions(WorkCodec.scoreOptions("ctx", " (A)", " (B)")).build());
    assertEquals("IllegalArgumentException: this worker has no feedback model",
        replies.receiveMessage().getError());
    worker.tell(request("w-3").setGenerate(GenerateWork.newBuilder().addConversation(ChatTurn.newBuilder().setText("hi"))
        .setSampling(WorkCodec.sampling(GenerationSettings.greedy(8)))).build());
    assertEquals("IllegalArgumentException: generate work has a turn with speaker SPEAKER_UNSPECIFIED",
        replies.receiveMessage().getError());
    worker.tell(request("w-4").setGenerate(WorkCodec.generate(Transcript.ofHuman("hi"), GenerationSettings.greedy(8))
        .toBuilder().clearSampling()).build());
    assertEquals("IllegalArgumentException: generate work has no sampling settings", replies.receiveMessage().getError());
    worker.tell(request("w-5").build());
    assertEquals("IllegalArgumentException: work request w-5 carries no work", replies.receiveMessage().getError());
    // a model error reaches the driver as the reply's error
    worker.tell(request("w-6").setGenerate(WorkCodec.generate(Transcript.ofHuman("hi"), GenerationSettings.greedy(8))).build());
    var submit = (ModelActor.Submit<GenerateRequest, Completion>) generator.receiveMessage();
    submit.replyTo().tell(StatusReply.error("prompt has 9000 tokens, the context holds 8192"));
    assertTrue(replies.receiveMessage().getError().endsWith("prompt has 9000 tokens, the context holds 8192"));
    generator.expectNoMessage(Duration.ofMillis(100)); // only w-6 reached the model
  }

  @Test
  void shouldServeRolloutWorkWithItsPolicyActorAndRefuseOtherSamplingSettings() {
    TestProbe<PolicyActor.Command> policy = testKit.createTestProbe();
    GenerationSettings sampling = GenerationSettings.sampling(16, 0.7, 0);
    ActorRef<WorkRequest> worker = testKit.spawn(ModelWorker.create("policy", new ModelWorker.Models(Optional.empty(),
        Optional.empty(), Optional.of(new ModelWorker.Rollouts(policy.ref(), sampling))), "tiny-7", "", Duration.ofSeconds(5)));
    List<Transcript> conversations = List.of(Transcript.ofHuman("first?"), Transcript.ofHuman("second?"));
    worker.tell(request("r-1").setRollouts(WorkCodec.rollouts(conversations, new long[] {11, 12}, 4, sampling)).build());
    PolicyActor.GenerateRollouts g = policy.expectMessageClass(PolicyActor.GenerateRollouts.class);
    assertEquals(conversations, g.conversations());
    assertEquals(List.of(11L, 12L), java.util.Arrays.stream(g.seeds()).boxed().toList());
    assertEquals(4, g.requiredVersion());
    PolicySample sample = new PolicySample(new int[] {5, 6, 7}, new int[] {8, 1}, new float[] {-0.5f, -1.25f}, true, "ok");
    g.replyTo().tell(StatusReply.success(new PolicyActor.RolloutsGenerated(4, "tiny-7",
        List.of(BatchModel.Outcome.ok(sample), BatchModel.Outcome.failed("prompt has 900 tokens, the context holds 512")))));
    List<BatchModel.Outcome<PolicySample>> back = WorkCodec.samples(replies.receiveMessage().getRollouts(), 2, 4);
    PolicySample s = back.get(0).value();
    assertArrayEquals(sample.promptIds(), s.promptIds());
    assertArrayEquals(sample.responseIds(), s.responseIds());
    assertArrayEquals(sample.logProbs(), s.logProbs());
    assertEquals("ok", s.text());
    assertEquals("prompt has 900 tokens, the context holds 512", back.get(1).error());
    // a driver that samples otherwise (another cai.rl) is refused: its PPO log-probs would not match
    worker.tell(request("r-2").setRollouts(WorkCodec.rollouts(conversations, new long[] {1, 2}, 4,
        GenerationSettings.sampling(16, 1.0, 0))).build());
    assertTrue(replies.receiveMessage().getError().contains("this worker samples rollouts at temperature 0.7 with at most 16 "
        + "new tokens (its cai.rl settings), the driver asks 1.0 and 16"));
    policy.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void shouldRegisterWithTheReceptionistAndSayWhichModelItServes() {
    ActorRef<WorkRequest> worker = policyWorker();
    TestProbe<Receptionist.Listing> listing = testKit.createTestProbe();
    listing.awaitAssert(() -> {
      testKit.system().receptionist().tell(Receptionist.find(ModelWorker.serviceKey("policy"), listing.ref()));
      assertEquals(java.util.Set.of(worker), listing.receiveMessage().getServiceInstances(ModelWorker.serviceKey("policy")));
      return null;
    });
    worker.tell(request("w-7").setInfo(WorkerInfoQuery.getDefaultInstance()).build());
    WorkReply r = replies.receiveMessage();
    assertEquals("tiny-7", r.getInfo().getModelId());
    assertTrue(r.getInfo().getGenerates());
    assertTrue(!r.getInfo().getScoresOptions());
  }
}
