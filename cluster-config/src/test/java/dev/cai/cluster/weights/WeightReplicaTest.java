package dev.cai.cluster.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import dev.cai.actors.PolicyActor;
import dev.cai.actors.PublishedPolicy;
import dev.cai.protocol.v1.FetchPolicyVersion;
import dev.cai.protocol.v1.PolicyVersionAnnounced;
import dev.cai.protocol.v1.WeightsChunkAck;
import dev.cai.protocol.v1.WeightsChunkDelivery;
import dev.cai.protocol.v1.WeightsFetchRefused;
import dev.cai.protocol.v1.WeightsServed;
import dev.cai.protocol.v1.WeightsSubscribe;
import dev.cai.runtime.model.LlamaConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The replica's side of the protocol, driven by a probe playing the publisher. */
class WeightReplicaTest {
  private static final WeightShippingSettings SETTINGS =
      new WeightShippingSettings(1024, 4, Duration.ofSeconds(30), 2, Duration.ofSeconds(10));
  private ActorTestKit kit;
  private TestProbe<Message> publisher;
  private String publisherName;
  private TestProbe<PolicyActor.Command> policy;
  private PublishedPolicy published;
  private ActorRef<WeightReplica.Command> replica;
  private ActorRef<Message> replicaRef;

  @BeforeEach
  void start() {
    kit = ClusterTestNodes.start("policy", "");
    publisher = kit.createTestProbe();
    publisherName = ActorRefResolver.get(kit.system()).toSerializationFormat(publisher.getRef());
    kit.system().receptionist().tell(Receptionist.register(WeightPublisher.KEY, publisher.getRef()));
    policy = kit.createTestProbe();
    published = new PublishedPolicy(0);
  }

  @AfterEach
  void stop() {
    kit.shutdownTestKit();
  }

  /** Starts the replica and returns its subscription, which names its remote-facing ref. */
  private WeightsSubscribe startReplica(Optional<LlamaConfig> expected) {
    return startReplica(expected, SETTINGS);
  }

  private WeightsSubscribe startReplica(Optional<LlamaConfig> expected, WeightShippingSettings settings) {
    replica = kit.spawn(WeightReplica.create(settings, List.of(policy.getRef()), published, expected));
    WeightsSubscribe s = publisher.expectMessageClass(WeightsSubscribe.class, Duration.ofSeconds(10));
    replicaRef = ActorRefResolver.get(kit.system()).resolveActorRef(s.getReplica());
    return s;
  }

  private void announce(ChunkedVersion v) {
    announce(v, publisher);
  }

  private void announce(ChunkedVersion v, TestProbe<Message> from) {
    replicaRef.tell(PolicyVersionAnnounced.newBuilder().setManifest(v.manifest())
        .setPublisher(ActorRefResolver.get(kit.system()).toSerializationFormat(from.getRef())).build());
  }

  private void serve(FetchPolicyVersion f, ChunkedVersion v) {
    serve(f, v, publisher);
  }

  /** Plays the publisher for a whole fetch: streams every chunk, expecting an ack for each. */
  private void serve(FetchPolicyVersion f, ChunkedVersion v, TestProbe<Message> from) {
    for (int seq = 0; seq < v.chunkCount(); seq++) {
      replicaRef.tell(WeightsChunkDelivery.newBuilder().setFetchId(f.getFetchId()).setSeq(seq).setChunk(v.chunk(seq))
          .build());
      WeightsChunkAck ack = from.expectMessageClass(WeightsChunkAck.class);
      assertEquals(f.getFetchId(), ack.getFetchId());
      assertEquals(seq, ack.getSeq());
    }
  }

  private PolicyActor.UpdateWeights expectUpdate() {
    PolicyActor.UpdateWeights u = policy.expectMessageClass(PolicyActor.UpdateWeights.class);
    u.replyTo().tell(StatusReply.success(new PolicyActor.WeightsUpdated(u.version())));
    return u;
  }

  private WeightReplica.Status status() {
    TestProbe<WeightReplica.Status> probe = kit.createTestProbe();
    replica.tell(new WeightReplica.GetStatus(probe.getRef()));
    return probe.receiveMessage();
  }

  @Test
  void shouldFetchAnAnnouncedVersionApplyItAndReportItServed() throws Exception {
    assertEquals(0, startReplica(Optional.of(WeightAssemblerTest.CONFIG)).getHaveVersion());
    ChunkedVersion v1 = ChunkedVersion.split(1, WeightAssemblerTest.weights(1), 1024);
    announce(v1);
    FetchPolicyVersion f = publisher.expectMessageClass(FetchPolicyVersion.class);
    assertEquals(1, f.getVersion());
    assertEquals(4, f.getWindow());
    serve(f, v1);
    PolicyActor.UpdateWeights u = expectUpdate();
    assertEquals(1, u.version());
    WeightAssemblerTest.assertBitEqual(WeightAssemblerTest.weights(1), u.weights());
    assertEquals(1, published.whenServed(1).toCompletableFuture().get(5, TimeUnit.SECONDS));
    assertEquals(1, publisher.expectMessageClass(WeightsServed.class).getVersion());
    assertEquals(new WeightReplica.Status(1, -1, 0, 0, 0, Optional.empty()), status());
    announce(v1); // not newer: nothing to do
    publisher.expectNoMessage(Duration.ofMillis(200));
  }

  @Test
  void shouldRestartOnTheLatestWhenANewerVersionIsAnnouncedDuringAFetch() throws Exception {
    startReplica(Optional.empty());
    ChunkedVersion v1 = ChunkedVersion.split(1, WeightAssemblerTest.weights(1), 1024);
    ChunkedVersion v2 = ChunkedVersion.split(2, WeightAssemblerTest.weights(2), 1024);
    announce(v1);
    FetchPolicyVersion f1 = publisher.expectMessageClass(FetchPolicyVersion.class);
    replicaRef.tell(WeightsChunkDelivery.newBuilder().setFetchId(f1.getFetchId()).setSeq(0).setChunk(v1.chunk(0)).build());
    publisher.expectMessageClass(WeightsChunkAck.class);
    announce(v2);
    FetchPolicyVersion f2 = publisher.expectMessageClass(FetchPolicyVersion.class);
    assertEquals(2, f2.getVersion());
    assertNotEquals(f1.getFetchId(), f2.getFetchId());
    // a chunk of the abandoned fetch still on the wire is dropped, not acknowledged
    replicaRef.tell(WeightsChunkDelivery.newBuilder().setFetchId(f1.getFetchId()).setSeq(1).setChunk(v1.chunk(1)).build());
    publisher.expectNoMessage(Duration.ofMillis(100));
    serve(f2, v2);
    assertEquals(2, expectUpdate().version());
    assertEquals(2, published.whenServed(2).toCompletableFuture().get(5, TimeUnit.SECONDS));
    policy.expectNoMessage(Duration.ofMillis(200)); // version 1 was never applied
  }

  @Test
  void shouldFetchAgainAfterAStalledFetchAndGiveUpAfterMaxAttempts() {
    startReplica(Optional.empty(),
        new WeightShippingSettings(1024, 4, Duration.ofMillis(500), 2, Duration.ofSeconds(10)));
    ChunkedVersion v1 = ChunkedVersion.split(1, WeightAssemblerTest.weights(1), 1024);
    announce(v1);
    FetchPolicyVersion f1 = publisher.expectMessageClass(FetchPolicyVersion.class);
    FetchPolicyVersion f2 = publisher.expectMessageClass(FetchPolicyVersion.class, Duration.ofSeconds(3));
    assertNotEquals(f1.getFetchId(), f2.getFetchId());
    publisher.expectNoMessage(Duration.ofSeconds(1)); // max-attempts = 2: no third fetch
    WeightReplica.Status s = status();
    assertEquals(2, s.failures());
    assertTrue(s.lastFailure().orElseThrow().startsWith("no chunk of policy version 1 from " + publisherName
        + " for 500 ms (0 of " + v1.chunkCount() + " chunks received); giving up on this version until a newer one"),
        s.lastFailure().orElseThrow());
    ChunkedVersion v2 = ChunkedVersion.split(2, WeightAssemblerTest.weights(2), 1024);
    announce(v2); // a newer version: fresh attempts
    serve(publisher.expectMessageClass(FetchPolicyVersion.class), v2);
    assertEquals(2, expectUpdate().version());
  }

  @Test
  void shouldRefuseAVersionOfAnotherModelConfigWithoutFetchingIt() {
    LlamaConfig mine = new LlamaConfig(64, 32, 48, 3, 4, 2, 8, 10_000.0, 1e-5, 128, true, 0, 1, 2);
    startReplica(Optional.of(mine));
    announce(ChunkedVersion.split(1, WeightAssemblerTest.weights(1), 1024));
    publisher.expectNoMessage(Duration.ofMillis(300));
    String failure = status().lastFailure().orElseThrow();
    assertTrue(failure.startsWith("policy version 1 is a model of config " + WeightAssemblerTest.CONFIG
        + " but this node's policy is " + mine), failure);
  }

  @Test
  void shouldDropARefusedFetchAndFollowTheAnnouncementOfTheLatest() {
    startReplica(Optional.empty());
    announce(ChunkedVersion.split(1, WeightAssemblerTest.weights(1), 1024));
    FetchPolicyVersion f1 = publisher.expectMessageClass(FetchPolicyVersion.class);
    replicaRef.tell(WeightsFetchRefused.newBuilder().setFetchId(f1.getFetchId()).setVersion(1).setLatestVersion(2)
        .setReason("policy version 1 is not the latest (2); only the latest is kept").build());
    publisher.expectNoMessage(Duration.ofMillis(200)); // waits for the announcement rather than asking again
    ChunkedVersion v2 = ChunkedVersion.split(2, WeightAssemblerTest.weights(2), 1024);
    announce(v2);
    FetchPolicyVersion f2 = publisher.expectMessageClass(FetchPolicyVersion.class);
    assertEquals(2, f2.getVersion());
    serve(f2, v2);
    assertEquals(2, expectUpdate().version());
    assertEquals(0, status().failures());
  }

  @Test
  void shouldDropTheFetchOfAPublisherThatLeftAndFollowTheNextPublisher() {
    startReplica(Optional.empty());
    ChunkedVersion v1 = ChunkedVersion.split(1, WeightAssemblerTest.weights(1), 1024);
    announce(v1);
    publisher.expectMessageClass(FetchPolicyVersion.class);
    kit.system().receptionist().tell(Receptionist.deregister(WeightPublisher.KEY, publisher.getRef()));
    TestProbe<WeightReplica.Status> probe = kit.createTestProbe();
    probe.awaitAssert(() -> {
      replica.tell(new WeightReplica.GetStatus(probe.getRef()));
      assertEquals(-1, probe.receiveMessage().fetchingVersion());
      return null;
    });
    // no fetch from the publisher that left (the cluster Receptionist may list it again for a moment: the replica
    // then subscribes again, which is harmless)
    assertTrue(drain(publisher).stream().noneMatch(m -> m instanceof FetchPolicyVersion));

    TestProbe<Message> next = kit.createTestProbe(); // e.g. the learner singleton on its new node
    kit.system().receptionist().tell(Receptionist.register(WeightPublisher.KEY, next.getRef()));
    assertEquals(0, next.expectMessageClass(WeightsSubscribe.class, Duration.ofSeconds(10)).getHaveVersion());
    ChunkedVersion v2 = ChunkedVersion.split(2, WeightAssemblerTest.weights(2), 1024);
    announce(v2, next);
    FetchPolicyVersion f = next.expectMessageClass(FetchPolicyVersion.class);
    assertEquals(2, f.getVersion());
    serve(f, v2, next);
    assertEquals(2, expectUpdate().version());
    assertEquals(0, status().failures());
  }

  /** Every message {@code p} receives until it has been quiet for 300 ms. */
  private static List<Message> drain(TestProbe<Message> p) {
    List<Message> out = new ArrayList<>();
    while (true) {
      try {
        out.add(p.receiveMessage(Duration.ofMillis(300)));
      } catch (AssertionError quiet) {
        return out;
      }
    }
  }
}
