package dev.cai.cluster.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import dev.cai.protocol.v1.FetchPolicyVersion;
import dev.cai.protocol.v1.PolicyVersionAnnounced;
import dev.cai.protocol.v1.WeightsChunkAck;
import dev.cai.protocol.v1.WeightsChunkDelivery;
import dev.cai.protocol.v1.WeightsFetchRefused;
import dev.cai.protocol.v1.WeightsServed;
import dev.cai.protocol.v1.WeightsSubscribe;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The publisher's side of the protocol, driven by a probe playing the replica. */
class WeightPublisherTest {
  private static final WeightShippingSettings SETTINGS =
      new WeightShippingSettings(1024, 3, Duration.ofSeconds(30), 3, Duration.ofSeconds(30));
  private ActorTestKit kit;
  private ActorRef<WeightPublisher.Command> publisher;
  private TestProbe<Message> replica;
  private String replicaName;

  @BeforeEach
  void start() {
    kit = ClusterTestNodes.start("learner", "");
    publisher = kit.spawn(WeightPublisher.create(SETTINGS));
    replica = kit.createTestProbe();
    replicaName = ActorRefResolver.get(kit.system()).toSerializationFormat(replica.getRef());
  }

  @AfterEach
  void stop() {
    kit.shutdownTestKit();
  }

  private WeightPublisher.Published publish(long version, long seed) {
    TestProbe<StatusReply<WeightPublisher.Published>> ack = kit.createTestProbe();
    publisher.tell(new WeightPublisher.Publish(version, WeightAssemblerTest.weights(seed), ack.getRef()));
    StatusReply<WeightPublisher.Published> reply = ack.receiveMessage(Duration.ofSeconds(10));
    assertTrue(reply.isSuccess(), () -> "publish failed: " + reply.getError());
    return reply.getValue();
  }

  private void fetch(long id, long version, int window) {
    publisherRef().tell(FetchPolicyVersion.newBuilder().setReplica(replicaName).setFetchId(id).setVersion(version)
        .setWindow(window).build());
  }

  private ActorRef<Message> publisherRef() {
    TestProbe<Receptionist.Listing> listing = kit.createTestProbe();
    for (int i = 0; i < 100; i++) {
      kit.system().receptionist().tell(Receptionist.find(WeightPublisher.KEY, listing.getRef()));
      Set<ActorRef<Message>> refs = listing.receiveMessage().getServiceInstances(WeightPublisher.KEY);
      if (!refs.isEmpty()) {
        return refs.iterator().next();
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }
    throw new AssertionError("the publisher never registered with the Receptionist");
  }

  @Test
  void shouldRegisterAndAnnounceTheLatestVersionToANewSubscriberThatServesAnOlderOne() {
    publish(1, 1);
    publish(2, 2);
    publisherRef().tell(WeightsSubscribe.newBuilder().setReplica(replicaName).setHaveVersion(0).build());
    PolicyVersionAnnounced a = replica.expectMessageClass(PolicyVersionAnnounced.class);
    assertEquals(2, a.getManifest().getVersion());
    assertEquals(publisherRef(), ActorRefResolver.get(kit.system()).resolveActorRef(a.getPublisher()));
    // a subscriber that already serves the latest hears nothing until the next publish
    publisherRef().tell(WeightsSubscribe.newBuilder().setReplica(replicaName).setHaveVersion(2).build());
    replica.expectNoMessage(Duration.ofMillis(200));
    publish(3, 3);
    assertEquals(3, replica.expectMessageClass(PolicyVersionAnnounced.class).getManifest().getVersion());
  }

  @Test
  void shouldKeepAtMostTheWindowOfChunksUnacknowledged() {
    WeightPublisher.Published p = publish(1, 1);
    assertTrue(p.chunks() > 10, "chunks: " + p.chunks());
    fetch(7, 1, 16); // the publisher's window (3) caps the replica's
    for (int seq = 0; seq < 3; seq++) {
      WeightsChunkDelivery d = replica.expectMessageClass(WeightsChunkDelivery.class);
      assertEquals(7, d.getFetchId());
      assertEquals(seq, d.getSeq());
    }
    replica.expectNoMessage(Duration.ofMillis(300));
    ack(7, 0);
    assertEquals(3, replica.expectMessageClass(WeightsChunkDelivery.class).getSeq());
    replica.expectNoMessage(Duration.ofMillis(200));
    ack(7, 3); // cumulative: 1..3 acknowledged too
    for (int seq = 4; seq < 7; seq++) {
      assertEquals(seq, replica.expectMessageClass(WeightsChunkDelivery.class).getSeq());
    }
    ack(99, 6); // an ack of another fetch moves nothing
    replica.expectNoMessage(Duration.ofMillis(200));
    for (int seq = 4; seq < p.chunks(); seq++) {
      ack(7, seq);
      if (seq + 3 < p.chunks()) {
        assertEquals(seq + 3, replica.expectMessageClass(WeightsChunkDelivery.class).getSeq());
      }
    }
    replica.expectNoMessage(Duration.ofMillis(200));
    assertEquals(0, status().fetches());
  }

  @Test
  void shouldRefuseAFetchOfASupersededVersionAndAnnounceTheLatest() {
    publish(1, 1);
    fetch(1, 1, 2);
    replica.expectMessageClass(WeightsChunkDelivery.class);
    replica.expectMessageClass(WeightsChunkDelivery.class);
    publish(2, 2); // the running fetch of version 1 is dropped: its acks move nothing
    assertEquals(0, status().fetches());
    ack(1, 1);
    replica.expectNoMessage(Duration.ofMillis(200));
    fetch(2, 1, 2);
    WeightsFetchRefused r = replica.expectMessageClass(WeightsFetchRefused.class);
    assertEquals(2, r.getFetchId());
    assertEquals(2, r.getLatestVersion());
    assertEquals("policy version 1 is not the latest (2); only the latest is kept", r.getReason());
    assertEquals(2, replica.expectMessageClass(PolicyVersionAnnounced.class).getManifest().getVersion());
  }

  @Test
  void shouldRefuseAVersionThatIsNotNewerAndAFetchBeforeAnyPublish() {
    fetch(1, 1, 2);
    assertEquals("no policy version is published", replica.expectMessageClass(WeightsFetchRefused.class).getReason());
    publish(5, 1);
    TestProbe<StatusReply<WeightPublisher.Published>> ack = kit.createTestProbe();
    publisher.tell(new WeightPublisher.Publish(5, WeightAssemblerTest.weights(2), ack.getRef()));
    assertEquals("policy version 5 is not newer than the published version 5", ack.receiveMessage().getError().getMessage());
  }

  @Test
  void shouldRecordTheVersionEachReplicaReportsServing() {
    publish(1, 1);
    publisherRef().tell(WeightsSubscribe.newBuilder().setReplica(replicaName).setHaveVersion(0).build());
    replica.expectMessageClass(PolicyVersionAnnounced.class);
    publisherRef().tell(WeightsServed.newBuilder().setReplica(replicaName).setVersion(1).build());
    WeightPublisher.Status s = status();
    assertEquals(1, s.latestVersion());
    assertEquals(1, s.subscribers());
    assertEquals(Map.of(replicaName, 1L), s.served());
  }

  private void ack(long fetchId, int seq) {
    publisherRef().tell(WeightsChunkAck.newBuilder().setReplica(replicaName).setFetchId(fetchId).setSeq(seq).build());
  }

  private WeightPublisher.Status status() {
    TestProbe<WeightPublisher.Status> probe = kit.createTestProbe();
    publisher.tell(new WeightPublisher.GetStatus(probe.getRef()));
    return probe.receiveMessage();
  }
}
