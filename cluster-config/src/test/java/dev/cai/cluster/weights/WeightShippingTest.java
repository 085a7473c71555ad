package dev.cai.cluster.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.cai.actors.ModelLoading;
import dev.cai.actors.PolicyActor;
import dev.cai.actors.PolicySample;
import dev.cai.actors.PublishedPolicy;
import dev.cai.protocol.v1.PolicyWeightsChunk;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.model.RandomWeights;
import dev.cai.runtime.weights.ModelWeights;
import dev.cai.runtime.weights.TensorNames;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Weight shipping across a real in-JVM cluster (Artery on 127.0.0.1, the role configurations, Protobuf only): a
 * learner node's publisher and the replicas of policy nodes.
 */
class WeightShippingTest {
  /** 4 KiB chunks: the tiny model (about 110 KB) ships in about 30 of them, 4 in flight. */
  private static final String SHIPPING = "cai.cluster.weights { chunk-bytes = 4096, window = 4, fetch-timeout = 10s }";
  private static final GenerationSettings SAMPLING = GenerationSettings.sampling(8, 0.9, 0).withStopAtEos(false);
  private static final PolicyActor.Settings POLICY =
      new PolicyActor.Settings(SAMPLING, 16, 2, Duration.ofMillis(100), Duration.ofMillis(400));
  private static final List<Transcript> PROMPTS = List.of(Transcript.ofHuman("hello there"),
      Transcript.ofHuman("why?"));
  private static final long[] SEEDS = {11, 12};

  @TempDir static Path dir;
  private static Path modelFile;
  private static ModelWeights base;
  private final List<ActorTestKit> nodes = new ArrayList<>();

  @BeforeAll
  static void writeModel() throws Exception {
    modelFile = dir.resolve("tiny.gguf");
    base = TinyLlama.write(modelFile, 5, GgmlType.F32);
  }

  @AfterEach
  void stopNodes() {
    // in parallel: one after the other, each leave waits for the cluster to see it
    nodes.stream().map(n -> CompletableFuture.runAsync(n::shutdownTestKit)).toList().forEach(CompletableFuture::join);
  }

  private static ModelWeights version(long v) {
    return TinyLlama.randomWeights(base.config(), 100 + v, "learner step " + v);
  }

  private ActorTestKit node(String role) {
    return node(role, SHIPPING);
  }

  private ActorTestKit node(String role, String overrides) {
    ActorTestKit kit = ClusterTestNodes.start(role, overrides);
    ClusterTestNodes.join(kit, nodes.isEmpty() ? kit : nodes.get(0));
    nodes.add(kit);
    return kit;
  }

  private static WeightShippingSettings settings(ActorTestKit kit) {
    return WeightShippingSettings.fromConfig(kit.system().settings().config());
  }

  private static ActorRef<WeightPublisher.Command> publisher(ActorTestKit learner,
      UnaryOperator<PolicyWeightsChunk> outgoing) {
    return learner.spawn(WeightPublisher.create(settings(learner), outgoing), "weight-publisher");
  }

  private static ActorRef<WeightReplica.Command> replica(ActorTestKit node, List<ActorRef<PolicyActor.Command>> policies,
      PublishedPolicy published) {
    return node.system().systemActorOf(WeightReplica.create(settings(node), policies, published,
        Optional.of(base.config())), WeightReplica.NAME, org.apache.pekko.actor.typed.Props.empty());
  }

  private static void publish(ActorTestKit learner, ActorRef<WeightPublisher.Command> publisher, long v) {
    TestProbe<StatusReply<WeightPublisher.Published>> ack = learner.createTestProbe();
    publisher.tell(new WeightPublisher.Publish(v, version(v), ack.getRef()));
    StatusReply<WeightPublisher.Published> reply = ack.receiveMessage(Duration.ofSeconds(10));
    assertTrue(reply.isSuccess(), () -> "publish failed: " + reply.getError());
    assertTrue(reply.getValue().chunks() > 20, "weights of several chunks: " + reply.getValue().chunks());
  }

  private static void awaitServed(PublishedPolicy published, long v) throws Exception {
    assertEquals(v, published.whenServed(v).toCompletableFuture().get(30, TimeUnit.SECONDS));
  }

  private static List<PolicySample> generate(ActorTestKit kit, ActorRef<PolicyActor.Command> policy, long v) {
    TestProbe<StatusReply<PolicyActor.RolloutsGenerated>> probe = kit.createTestProbe();
    policy.tell(new PolicyActor.GenerateRollouts(PROMPTS, SEEDS, v, probe.getRef()));
    StatusReply<PolicyActor.RolloutsGenerated> reply = probe.receiveMessage(Duration.ofSeconds(30));
    assertTrue(reply.isSuccess(), () -> "generate failed: " + reply.getError());
    assertEquals(v, reply.getValue().version());
    return reply.getValue().samples().stream().map(o -> o.value()).toList();
  }

  private static Behavior<PolicyActor.Command> policyActor(PublishedPolicy published) {
    return PolicyActor.create("policy", () -> ModelLoading.policy(modelFile, DeviceSetting.CPU), published, POLICY);
  }

  /** The first UpdateWeights the probe receives, acknowledged. */
  private static PolicyActor.UpdateWeights expectUpdate(TestProbe<PolicyActor.Command> policy) {
    PolicyActor.UpdateWeights u = policy.expectMessageClass(PolicyActor.UpdateWeights.class, Duration.ofSeconds(30));
    u.replyTo().tell(StatusReply.success(new PolicyActor.WeightsUpdated(u.version())));
    return u;
  }

  @Test
  void shouldShipEachVersionToARemotePolicyActorBitEqualAndCatchALateNodeUpToTheLatest() throws Exception {
    ActorTestKit learner = node("learner");
    ActorTestKit policyNode = node("policy");
    ActorRef<WeightPublisher.Command> publisher = publisher(learner, UnaryOperator.identity());
    PublishedPolicy published = new PublishedPolicy(0);
    ActorRef<PolicyActor.Command> policy = policyNode.spawn(policyActor(published), "policy-0");
    replica(policyNode, List.of(policy), published);

    publish(learner, publisher, 1);
    awaitServed(published, 1);
    WeightAssemblerTest.assertBitEqual(version(1), published.latest().orElseThrow().weights());
    publish(learner, publisher, 2);
    awaitServed(published, 2);
    WeightAssemblerTest.assertBitEqual(version(2), published.latest().orElseThrow().weights());

    // the remote policy actor samples exactly what a local one with the learner's version 2 samples
    ActorRef<PolicyActor.Command> local = learner.spawn(policyActor(new PublishedPolicy(0)), "local-policy");
    TestProbe<StatusReply<PolicyActor.WeightsUpdated>> updated = learner.createTestProbe();
    local.tell(new PolicyActor.UpdateWeights(2, version(2), updated.getRef()));
    assertTrue(updated.receiveMessage(Duration.ofSeconds(30)).isSuccess());
    List<PolicySample> remote = generate(policyNode, policy, 2);
    List<PolicySample> expected = generate(learner, local, 2);
    for (int i = 0; i < expected.size(); i++) {
      assertArrayEquals(expected.get(i).responseIds(), remote.get(i).responseIds());
      assertArrayEquals(expected.get(i).logProbs(), remote.get(i).logProbs());
    }
    TestProbe<WeightPublisher.Status> status = learner.createTestProbe();
    status.awaitAssert(Duration.ofSeconds(10), () -> {
      publisher.tell(new WeightPublisher.GetStatus(status.getRef()));
      assertEquals(List.of(2L), List.copyOf(status.receiveMessage().served().values()));
      return null;
    });

    // a node that joins after version 3 was published goes straight to version 3
    publish(learner, publisher, 3);
    awaitServed(published, 3);
    ActorTestKit lateNode = node("policy");
    TestProbe<PolicyActor.Command> latePolicy = lateNode.createTestProbe();
    PublishedPolicy latePublished = new PublishedPolicy(0);
    replica(lateNode, List.of(latePolicy.getRef()), latePublished);
    PolicyActor.UpdateWeights first = expectUpdate(latePolicy);
    assertEquals(3, first.version());
    WeightAssemblerTest.assertBitEqual(version(3), first.weights());
    awaitServed(latePublished, 3);
    latePolicy.expectNoMessage(Duration.ofMillis(300));
  }

  @Test
  void shouldRejectACorruptedChunkNamingTheTensorAndFetchTheVersionAgain() throws Exception {
    ActorTestKit learner = node("learner");
    ActorTestKit policyNode = node("policy");
    AtomicBoolean corrupted = new AtomicBoolean();
    ActorRef<WeightPublisher.Command> publisher = publisher(learner, c -> {
      if (c.getTensorName().equals(TensorNames.EMBED_TOKENS) && c.getChunkIndex() == 1 && !corrupted.getAndSet(true)) {
        byte[] data = c.getData().toByteArray();
        data[5] ^= 0x40; // one flipped bit on the wire, same size
        return c.toBuilder().setData(ByteString.copyFrom(data)).build();
      }
      return c;
    });
    TestProbe<PolicyActor.Command> policy = policyNode.createTestProbe();
    PublishedPolicy published = new PublishedPolicy(0);
    ActorRef<WeightReplica.Command> replica = replica(policyNode, List.of(policy.getRef()), published);

    publish(learner, publisher, 1);
    PolicyActor.UpdateWeights u = expectUpdate(policy);
    assertEquals(1, u.version());
    WeightAssemblerTest.assertBitEqual(version(1), u.weights());
    awaitServed(published, 1);
    assertTrue(corrupted.get());
    TestProbe<WeightReplica.Status> probe = policyNode.createTestProbe();
    replica.tell(new WeightReplica.GetStatus(probe.getRef()));
    WeightReplica.Status s = probe.receiveMessage();
    assertEquals(1, s.servedVersion());
    assertEquals(1, s.failures());
    String failure = s.lastFailure().orElseThrow();
    assertTrue(failure.startsWith("policy version 1 from "), failure);
    assertTrue(failure.contains(": tensor '" + TensorNames.EMBED_TOKENS + "': sha256 mismatch: the manifest says "),
        failure);
    assertTrue(failure.endsWith("; fetching it again (attempt 2 of 3)"), failure);
  }

  @Test
  void shouldShipChunksLargerThanAnArteryFrameOnTheLargeMessageChannel() throws Exception {
    String large = "pekko.remote.artery.large-message-destinations = [\"" + WeightReplica.LARGE_MESSAGE_DESTINATION
        + "\"]\ncai.cluster.weights { chunk-bytes = 512 KiB, window = 2 }";
    ActorTestKit learner = node("learner", large);
    ActorTestKit policyNode = node("policy", large);
    ActorRef<WeightPublisher.Command> publisher = publisher(learner, UnaryOperator.identity());
    TestProbe<PolicyActor.Command> policy = policyNode.createTestProbe();
    PublishedPolicy published = new PublishedPolicy(0);
    LlamaConfig config = new LlamaConfig(8192, 64, 128, 1, 4, 2, 16, 10_000.0, 1e-5, 128, true, 0, 1, 2);
    policyNode.system().systemActorOf(WeightReplica.create(settings(policyNode), List.of(policy.getRef()), published,
        Optional.of(config)), WeightReplica.NAME, org.apache.pekko.actor.typed.Props.empty());
    ModelWeights weights = RandomWeights.create(config, 1, 0.02); // a 2 MiB embedding: 4 chunks of 512 KiB
    TestProbe<StatusReply<WeightPublisher.Published>> ack = learner.createTestProbe();
    publisher.tell(new WeightPublisher.Publish(1, weights, ack.getRef()));
    assertTrue(ack.receiveMessage(Duration.ofSeconds(10)).isSuccess());
    // on the ordinary channel Artery would drop every chunk over maximum-frame-size (256 KiB)
    PolicyActor.UpdateWeights u = expectUpdate(policy);
    WeightAssemblerTest.assertBitEqual(weights, u.weights());
    awaitServed(published, 1);
  }
}
