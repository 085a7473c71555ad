package dev.cai.actors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.cai.persistence.Commit;
import dev.cai.persistence.KvStore;
import dev.cai.persistence.MemoryKvStore;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.protocol.Codecs;
import dev.cai.protocol.v1.LearnerStateHeader;
import dev.cai.protocol.v1.PolicyWeightsChunk;
import dev.cai.protocol.v1.Rollout;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.ppo.LearnerStateCodec;
import dev.cai.runtime.ppo.PpoLearner;
import dev.cai.runtime.ppo.PpoSettings;
import dev.cai.runtime.ppo.Rewards;
import dev.cai.runtime.weights.ModelWeights;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
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

/** The learner actor with a tiny real PPO learner and hand-made rollouts (no policy actors). */
@ExtendWith(TestKitJUnit5Extension.class)
class LearnerActorTest {
  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();
  @TempDir Path dir;

  private static final ModelWeights BASE = TinyLlama.randomWeights(TinyLlama.config(), 3, "tiny");
  private static final PpoSettings PPO = new PpoSettings(1, 2, 2, 1e-3, 1e-3, 1.0, 0.2, 0.2, 0.1, 0.0, 1.0, 0.95, false,
      0.8, Rewards.KlEstimator.K1, -1.0, 0.05, false, 6.0, 10_000, 0, 2.0);

  private ActorRef<LearnerActor.Command> spawn(RecordStore store, PublishedPolicy published, int commitEvery) {
    return testKit.spawn(LearnerActor.create(
        () -> new LearnerActor.Built(PpoLearner.create(BASE, BASE, Map.of(), DeviceSetting.CPU, PPO, 1), BASE.config(),
            BASE.config()),
        store, List.of(), published, new LearnerActor.Settings(new RolloutSchedule(0, commitEvery, 10),
            Optional.of(dir.resolve("rl-metrics.jsonl")), Duration.ofMinutes(1)), l -> { }));
  }

  private static List<Rollout> batch(long k, long version) {
    List<Rollout> rollouts = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      rollouts.add(Rollout.newBuilder().setPromptId("p" + i).addAllPromptTokenIds(List.of(1, 5 + i, 6))
          .addAllResponseTokenIds(List.of(9, 10 + i, 2)).addAllSampledLogprobs(List.of(-3f, -3f, -3f))
          .addAllReferenceLogprobs(List.of(-3.1f, -2.9f, -3f)).setScore(i == 0 ? 1f : -1f).setPolicyVersion(version)
          .setEndedWithEos(true).setTemperature(0.8f).setBatchIndex(k).build());
    }
    return rollouts;
  }

  private StatusReply<LearnerActor.Learned> learn(ActorRef<LearnerActor.Command> learner, long k, long first,
      List<Rollout> rollouts) {
    TestProbe<StatusReply<LearnerActor.Learned>> probe = testKit.createTestProbe();
    learner.tell(new LearnerActor.Learn(k, first, rollouts, probe.getRef()));
    return probe.receiveMessage(Duration.ofSeconds(60));
  }

  private StatusReply<LearnerActor.Started> start(ActorRef<LearnerActor.Command> learner) {
    TestProbe<StatusReply<LearnerActor.Started>> probe = testKit.createTestProbe();
    learner.tell(new LearnerActor.Start(probe.getRef()));
    return probe.receiveMessage(Duration.ofSeconds(60));
  }

  @Test
  void shouldUpdatePublishCommitAndWriteMetricsThenRestoreExactly() throws Exception {
    Path storeDir = dir.resolve("store");
    try (RecordStore store = RecordStore.open(storeDir)) {
      store.commit(new Commit().appendAll(RecordKind.ROLLOUTS, batch(0, 0)).appendAll(RecordKind.ROLLOUTS, batch(1, 1)));
      PublishedPolicy published = new PublishedPolicy(0);
      ActorRef<LearnerActor.Command> learner = spawn(store, published, 2);
      assertEquals(new LearnerActor.Started(0, 0, false, 0.05), start(learner).getValue());

      LearnerActor.Learned first = learn(learner, 0, 0, batch(0, 0)).getValue();
      assertEquals(1, first.version());
      assertTrue(first.commit().isEmpty(), "commit every 2 updates");
      assertEquals(1, published.served(), "lag 0: version 1 published after the update");
      assertEquals(1, published.latest().orElseThrow().version());
      assertEquals(2, first.stats().orElseThrow().staleness().get(0L));

      assertTrue(learn(learner, 3, 2, batch(1, 1)).getError().getMessage()
          .contains("at policy version 1 received batch 3: batch k is learned by version k"));
      assertTrue(learn(learner, 1, 5, batch(1, 1)).getError().getMessage()
          .contains("batch 1 starts at rollout #5 but the learner has consumed rollouts up to #2"));

      LearnerActor.Learned second = learn(learner, 1, 2, batch(1, 1)).getValue();
      assertEquals(2, second.commit().orElseThrow().version());
      assertEquals(4, second.commit().orElseThrow().rolloutsConsumed());
      assertEquals(2, store.learnerHeader().orElseThrow().getPolicyVersion());
      assertEquals(4, store.resumeOffset(LearnerActor.ROLLOUTS_CONSUMED));
      List<String> lines = Files.readAllLines(dir.resolve("rl-metrics.jsonl"), StandardCharsets.UTF_8);
      assertEquals(2, lines.size());
      assertTrue(lines.get(1).contains("\"version\":2") && lines.get(1).contains("\"commit_ms\""), lines.get(1));
      testKit.stop(learner);

      // a new learner restores version 2 and publishes it before it is ready (lag 0: the next batch needs it)
      PublishedPolicy fresh = new PublishedPolicy(0);
      LearnerActor.Started restored = start(spawn(store, fresh, 2)).getValue();
      assertEquals(2, restored.version());
      assertEquals(4, restored.rolloutsConsumed());
      assertTrue(restored.restored());
      assertEquals(2, fresh.served());
      ModelWeights before = published.latest().orElseThrow().weights();
      ModelWeights after = fresh.latest().orElseThrow().weights();
      assertEquals(before.tensors().keySet(), after.tensors().keySet());
      before.tensors().forEach((k, t) -> assertArrayEquals(t.data(), after.tensors().get(k).data(), 0f, k));
    }
  }

  @Test
  void shouldFailACommitItsDiskHasNoRoomForWithoutWritingAnyOfIt() throws Exception {
    long[] usable = {Long.MAX_VALUE};
    MemoryKvStore memory = new MemoryKvStore(RecordStore.columnFamilies());
    // a store whose file system reports `usable` free bytes; everything else is the memory store's
    KvStore kv = (KvStore) Proxy.newProxyInstance(KvStore.class.getClassLoader(), new Class<?>[] {KvStore.class},
        (proxy, method, args) -> {
          if (method.getName().equals("usableBytes")) {
            return OptionalLong.of(usable[0]);
          }
          try {
            return method.invoke(memory, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
    try (RecordStore store = RecordStore.adopt(kv)) {
      store.commit(new Commit().appendAll(RecordKind.ROLLOUTS, batch(0, 0)).appendAll(RecordKind.ROLLOUTS, batch(1, 1)));
      ActorRef<LearnerActor.Command> learner = spawn(store, new PublishedPolicy(0), 1);
      start(learner).getValue();
      assertEquals(1, learn(learner, 0, 0, batch(0, 0)).getValue().commit().orElseThrow().version());
      long stateBytes = store.learnerStateNames().stream().filter(LearnerStateCodec::isBlobKey)
          .mapToLong(n -> store.learnerState(n).orElseThrow().length).sum();
      Set<String> before = Set.copyOf(store.learnerStateNames());

      usable[0] = stateBytes; // less than the state and its write-ahead log need
      String error = learn(learner, 1, 2, batch(1, 1)).getError().getMessage();
      assertTrue(error.contains("the learner commit of policy version 2 needs about ")
          && error.contains(" MiB are free on the store's file system; nothing was written, the last commit is intact"),
          error);
      assertEquals(1, store.learnerHeader().orElseThrow().getPolicyVersion());
      assertEquals(before, Set.copyOf(store.learnerStateNames()));
    }
  }

  @Test
  void shouldRefuseToStartFromACorruptOrIncompleteLearnerState() throws Exception {
    try (RecordStore store = RecordStore.open(dir.resolve("store"))) {
      store.commit(new Commit().appendAll(RecordKind.ROLLOUTS, batch(0, 0)));
      ActorRef<LearnerActor.Command> learner = spawn(store, new PublishedPolicy(0), 1);
      start(learner).getValue();
      assertEquals(1, learn(learner, 0, 0, batch(0, 0)).getValue().commit().orElseThrow().version());
      testKit.stop(learner);

      LearnerStateHeader h = store.learnerHeader().orElseThrow();
      String key = h.getTensorNames(h.getTensorNamesCount() - 1); // the last: critic/adam.v/…
      String name = key.substring(0, key.lastIndexOf('@'));
      byte[] intact = store.learnerState(key).orElseThrow();
      PolicyWeightsChunk c = Codecs.POLICY_WEIGHTS_CHUNK.decode(intact);
      byte[] data = c.getData().toByteArray();
      data[0] ^= 1;
      store.commit(new Commit().putLearnerState(key,
          Codecs.POLICY_WEIGHTS_CHUNK.encode(c.toBuilder().setData(ByteString.copyFrom(data)).build())));
      StatusReply<LearnerActor.Started> corrupt = start(spawn(store, new PublishedPolicy(0), 1));
      assertTrue(corrupt.isError());
      assertTrue(corrupt.getError().getMessage().startsWith("Cannot restore the PPO learner from " + store.location())
          && corrupt.getError().getMessage().contains("tensor '" + name + "' fails its SHA-256 check"),
          corrupt.getError().getMessage());

      store.commit(new Commit().deleteLearnerState(key));
      StatusReply<LearnerActor.Started> missing = start(spawn(store, new PublishedPolicy(0), 1));
      assertTrue(missing.getError().getMessage().contains("lists tensor '" + name + "' but its blob"),
          missing.getError().getMessage());

      store.commit(new Commit().putLearnerState(key, intact));
      assertEquals(1, start(spawn(store, new PublishedPolicy(0), 1)).getValue().version(), "intact again: restores");
    }
  }

  @Test
  void shouldRefuseToStartWhenRolloutsWereConsumedWithoutALearnerState() {
    try (RecordStore store = RecordStore.inMemory()) {
      store.commit(new Commit().offset(LearnerActor.ROLLOUTS_CONSUMED, 5));
      StatusReply<LearnerActor.Started> r = start(spawn(store, new PublishedPolicy(0), 1));
      assertTrue(r.isError());
      assertEquals("Cannot restore the PPO learner from memory: the store has consumed 5 rollouts but holds no learner "
          + "state", r.getError().getMessage());
    }
  }
}
