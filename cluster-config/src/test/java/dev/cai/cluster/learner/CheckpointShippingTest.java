package dev.cai.cluster.learner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import dev.cai.cluster.ClusterConfigs;
import dev.cai.cluster.ClusterRole;
import dev.cai.cluster.HostPort;
import dev.cai.cluster.NodeSettings;
import dev.cai.persistence.CheckpointInfo;
import dev.cai.persistence.Commit;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.protocol.v1.CheckpointAck;
import dev.cai.protocol.v1.CheckpointChunk;
import dev.cai.protocol.v1.CheckpointFile;
import dev.cai.protocol.v1.CheckpointOffer;
import dev.cai.protocol.v1.Prompt;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two learner nodes (two actor systems in one JVM, a real cluster over Artery on 127.0.0.1): the shipper keeps at
 * most {@code window} chunks unacknowledged, and a real receiver installs a real RocksDB checkpoint bit for bit.
 */
class CheckpointShippingTest {
  private static final int WINDOW = 3;
  private ActorTestKit active;
  private ActorTestKit standby;
  private final List<String> events = new CopyOnWriteArrayList<>();

  private static ActorSystem<Void> node() {
    NodeSettings s = new NodeSettings(ClusterRole.LEARNER, List.of(new HostPort("127.0.0.1", 1)), Optional.empty(),
        OptionalInt.of(0), OptionalInt.of(0));
    return ActorSystem.create(Behaviors.empty(), ClusterConfigs.SYSTEM_NAME, ClusterConfigs.load(s)
        .withValue("pekko.cluster.seed-nodes", com.typesafe.config.ConfigValueFactory.fromIterable(List.of())));
  }

  @BeforeEach
  void twoNodes() throws Exception {
    active = ActorTestKit.create(node());
    standby = ActorTestKit.create(node());
    Cluster a = Cluster.get(active.system());
    a.manager().tell(Join.create(a.selfMember().address()));
    Cluster.get(standby.system()).manager().tell(Join.create(a.selfMember().address()));
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (!(a.state().members().size() == 2 && allUp(a) && allUp(Cluster.get(standby.system())))) {
      assertTrue(System.nanoTime() < deadline, "the two nodes did not form a cluster");
      Thread.sleep(50);
    }
  }

  private static boolean allUp(Cluster c) {
    int[] up = {0};
    c.state().getMembers().forEach(m -> up[0] += m.status() == MemberStatus.up() ? 1 : 0);
    return up[0] == 2;
  }

  @AfterEach
  void stop() {
    standby.shutdownTestKit();
    active.shutdownTestKit();
  }

  private static CheckpointInfo checkpoint(Path dir) {
    return checkpoints(dir, "v000004-1").get(0);
  }

  /** Checkpoints {@code names} of a store of 200 prompts in {@code dir}. */
  private static List<CheckpointInfo> checkpoints(Path dir, String... names) {
    try (RecordStore store = RecordStore.open(dir.resolve("store"))) {
      Commit c = new Commit();
      for (int i = 0; i < 200; i++) {
        c.append(RecordKind.PROMPTS, Prompt.newBuilder().setId("p-" + i).setText("question " + i).build());
      }
      store.commit(c);
      return Stream.of(names).map(store::checkpoint).toList();
    }
  }

  private LearnerHaSettings settings(Path dir) {
    return new LearnerHaSettings(dir, 2, 1000, WINDOW, 2, Duration.ofSeconds(5));
  }

  @Test
  void shouldKeepAtMostWindowChunksUnacknowledged(@TempDir Path dir) {
    TestProbe<Message> receiver = standby.createTestProbe(Message.class);
    standby.system().receptionist().tell(Receptionist.register(CheckpointReceiver.KEY, receiver.getRef()));
    ActorRef<CheckpointShipper.Command> shipper = active.spawn(CheckpointShipper.create(settings(dir), events::add,
        active.system().ignoreRef()));
    CheckpointInfo info = checkpoint(dir);

    shipper.tell(new CheckpointShipper.Ship("v000004-1", 4, info.path()));

    CheckpointOffer offer = (CheckpointOffer) receiver.receiveMessage(Duration.ofSeconds(15));
    assertEquals(4, offer.getVersion());
    assertTrue(offer.getChunkCount() > WINDOW + 2, "chunks: " + offer.getChunkCount());
    ActorRef<CheckpointAck> ack = ActorRefResolver.get(standby.system()).resolveActorRef(offer.getReplyTo());
    receiver.expectNoMessage(Duration.ofMillis(300)); // no chunk before the offer is accepted
    String self = Cluster.get(standby.system()).selfMember().address().toString();
    ack.tell(CheckpointAck.newBuilder().setCheckpointId("v000004-1").setNextSeq(0).setReceiver(self).build());
    for (int seq = 0; seq < WINDOW; seq++) {
      assertEquals(seq, ((CheckpointChunk) receiver.receiveMessage()).getSeq());
    }
    receiver.expectNoMessage(Duration.ofMillis(300)); // the window is full
    ack.tell(CheckpointAck.newBuilder().setCheckpointId("v000004-1").setNextSeq(2).setReceiver(self).build());
    assertEquals(WINDOW, ((CheckpointChunk) receiver.receiveMessage()).getSeq());
    assertEquals(WINDOW + 1, ((CheckpointChunk) receiver.receiveMessage()).getSeq());
    receiver.expectNoMessage(Duration.ofMillis(300));

    // a standby that gives up (here: reports a bad file) is not waited for
    ack.tell(CheckpointAck.newBuilder().setCheckpointId("v000004-1").setError("checkpoint v000004-1: file x: broken")
        .setReceiver(self).build());
    TestProbe<CheckpointShipper.Delivered> delivered = active.createTestProbe();
    shipper.tell(new CheckpointShipper.AwaitDelivered(4, delivered.getRef()));
    delivered.expectMessage(new CheckpointShipper.Delivered(4));
    assertTrue(events.contains("standby " + self + " discarded checkpoint v000004-1: file x: broken"), events.toString());
  }

  @Test
  void shouldReleaseACheckpointNoTransferReadsOnceANewerOneIsGivenAndDeleteNothingItself(@TempDir Path dir) {
    TestProbe<CheckpointShipper.Released> released = active.createTestProbe();
    ActorRef<CheckpointShipper.Command> shipper = active.spawn(CheckpointShipper.create(settings(dir), events::add,
        released.getRef()));
    List<CheckpointInfo> infos = checkpoints(dir, "v000002-1", "v000004-1");

    shipper.tell(new CheckpointShipper.Ship("v000002-1", 2, infos.get(0).path()));
    released.expectNoMessage(Duration.ofMillis(300)); // the newest is kept
    shipper.tell(new CheckpointShipper.Ship("v000004-1", 4, infos.get(1).path()));

    released.expectMessage(Duration.ofSeconds(5), new CheckpointShipper.Released("v000002-1"));
    released.expectNoMessage(Duration.ofMillis(300));
    assertTrue(Files.isDirectory(infos.get(0).path()), "the store that took it deletes it, not the shipper");
  }

  @Test
  void shouldInstallAShippedRocksDbCheckpointOnTheStandbyBitForBit(@TempDir Path dir) throws Exception {
    ShippedCheckpoints shipped = new ShippedCheckpoints(dir.resolve("standby/shipped"));
    standby.system().systemActorOf(CheckpointReceiver.create(shipped, 2, events::add), "learner-checkpoints",
        org.apache.pekko.actor.typed.Props.empty());
    ActorRef<CheckpointShipper.Command> shipper = active.spawn(CheckpointShipper.create(settings(dir), events::add,
        active.system().ignoreRef()));
    TestProbe<CheckpointShipper.Delivered> delivered = active.createTestProbe();
    CheckpointInfo info = checkpoint(dir.resolve("active"));

    // the standby may become known to the shipper (receptionist) after the checkpoint: it gets the newest then
    shipper.tell(new CheckpointShipper.Ship("v000004-1", 4, info.path()));

    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (shipped.latest(p -> { }).isEmpty()) {
      assertTrue(System.nanoTime() < deadline, "not installed: " + events);
      Thread.sleep(50);
    }
    shipper.tell(new CheckpointShipper.AwaitDelivered(4, delivered.getRef()));
    delivered.expectMessage(Duration.ofSeconds(5), new CheckpointShipper.Delivered(4));
    ShippedCheckpoints.Installed installed = shipped.latest(p -> { }).orElseThrow();
    assertEquals("v000004-1", installed.id());
    for (CheckpointFile f : CheckpointManifest.of(info.path()).files()) {
      assertArrayEquals(Files.readAllBytes(info.path().resolve(f.getPath())),
          Files.readAllBytes(installed.store().resolve(f.getPath())), f.getPath());
    }
    assertTrue(events.stream().anyMatch(e -> e.startsWith("installed checkpoint v000004-1 version 4 (")), events.toString());
    assertTrue(events.stream().anyMatch(e -> e.startsWith("shipped checkpoint v000004-1 version 4 (")), events.toString());
  }
}
