package dev.cai.streams;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.actors.BatchModel.Outcome;
import dev.cai.actors.BatchingSettings;
import dev.cai.actors.LogProbsRequest;
import dev.cai.actors.ModelActor;
import dev.cai.actors.ModelLoading;
import dev.cai.actors.PolicyActor;
import dev.cai.actors.PublishedPolicy;
import dev.cai.actors.RolloutSchedule;
import dev.cai.actors.ScoreRequest;
import dev.cai.actors.WholeBatches;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.persistence.Stored;
import dev.cai.protocol.v1.Rollout;
import dev.cai.runtime.generate.ContinuationScorer;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.weights.LoadedModel;
import dev.cai.runtime.weights.ModelWeights;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The rollout graph on tiny real models, with a stand-in learner that only publishes versions. */
@ExtendWith(TestKitJUnit5Extension.class)
class RolloutGraphTest {
  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();
  @TempDir static Path dir;
  private static Path policyModel;
  private static Path pm;
  private static Path prompts;
  private static ModelWeights base;

  private static final double T = 0.8;
  private static final BatchingSettings BATCHING =
      new BatchingSettings(8, Duration.ofMillis(5), 64, Duration.ofMillis(100), Duration.ofSeconds(1));

  @BeforeAll
  static void writeModels() throws Exception {
    policyModel = TinyRl.policy(dir);
    pm = TinyRl.preferenceModel(dir, policyModel);
    prompts = TinyRl.prompts(dir.resolve("prompts.jsonl"), 7, 5); // batches of 3: [1 2 3] [4 (5) 6] [7]
    try (LoadedModel m = ModelFiles.load(policyModel)) {
      base = m.weights();
    }
  }

  /** The actors of one run (fresh policy actors: version 0 = the base weights). */
  private final class Run {
    final PublishedPolicy published = new PublishedPolicy(0);
    final ActorRef<PolicyActor.Command> policy = testKit.spawn(PolicyActor.create("policy",
        () -> ModelLoading.policy(policyModel, DeviceSetting.CPU), published,
        new PolicyActor.Settings(GenerationSettings.sampling(6, T, 0), 16, 4, Duration.ofMillis(100), Duration.ofSeconds(1))));
    final ActorRef<ModelActor.Command<List<LogProbsRequest>, List<Outcome<float[]>>>> reference = testKit.spawn(
        ModelActor.create("reference", () -> new WholeBatches<>(ModelLoading.reference(policyModel, DeviceSetting.CPU, T)),
            BATCHING));
    final ActorRef<ModelActor.Command<List<ScoreRequest>, List<Outcome<Double>>>> preference = testKit.spawn(
        ModelActor.create("preference", () -> new WholeBatches<>(ModelLoading.preference(pm, DeviceSetting.CPU)), BATCHING));
    final RolloutGraph.Models models = new RolloutGraph.Models(PolicySampler.of(testKit.system(), List.of(policy),
        Duration.ofMinutes(1)), reference, preference, published, Duration.ofMinutes(1));
    final int lag;
    long served;

    Run(int lag) {
      this.lag = lag;
    }

    RolloutGraph.Settings settings() {
      return new RolloutGraph.Settings(3, new RolloutSchedule(lag, 1, 1000), 7L, T, 1);
    }

    /** The learner's publish rule without learning: version v is random weights seeded by v. */
    CompletionStage<RolloutGraph.RolloutBatch> learn(RolloutGraph.RolloutBatch b) {
      long v = lag == 1 ? b.batchIndex() : b.batchIndex() + 1;
      if (v <= served) {
        return CompletableFuture.completedFuture(b);
      }
      ModelWeights w = TinyLlama.randomWeights(base.config(), 100 + v, "version-" + v);
      published.publish(v, w);
      served = v;
      return AskPattern.<PolicyActor.Command, PolicyActor.WeightsUpdated>askWithStatus(policy,
              replyTo -> new PolicyActor.UpdateWeights(v, w, replyTo), Duration.ofMinutes(1), testKit.system().scheduler())
          .thenApply(ack -> {
            published.markServed(v);
            return b;
          });
    }

    List<RolloutGraph.RolloutBatch> run(RecordStore store, long batches) throws Exception {
      return RolloutGraph.live(testKit.system(), List.of(new PromptSource(prompts, false)), store, models, settings())
          .take(batches)
          .map(b -> {
            assertEquals(store.nextSequence(RecordKind.ROLLOUTS), b.rollouts().isEmpty() ? store.nextSequence(RecordKind.ROLLOUTS)
                : b.firstSequence() + b.rollouts().size(), "records are in the store when the batch is emitted");
            return b;
          })
          .mapAsync(1, this::learn)
          .runWith(Sink.seq(), testKit.system()).toCompletableFuture().get(2, TimeUnit.MINUTES);
    }
  }

  private static List<Rollout> rollouts(RecordStore store) {
    return store.read(RecordKind.ROLLOUTS, 0, 1000).stream().map(Stored::record).toList();
  }

  @Test
  void shouldCommitOneRolloutPerServablePromptWithItsOffsetsAndTheLagOneVersions() throws Exception {
    try (RecordStore store = RecordStore.inMemory()) {
      List<RolloutGraph.RolloutBatch> batches = new Run(1).run(store, Long.MAX_VALUE);
      assertEquals(List.of(0L, 1L, 2L), batches.stream().map(RolloutGraph.RolloutBatch::batchIndex).toList());
      assertEquals(1, batches.get(1).skipped().size(), "the too-long prompt is skipped and counted");
      assertTrue(batches.get(1).skipped().get(0).startsWith("prompts.jsonl:5: ")
          && batches.get(1).skipped().get(0).contains("exceeds the model context"), batches.get(1).skipped().get(0));
      List<Rollout> all = rollouts(store);
      assertEquals(List.of("prompts.jsonl:1", "prompts.jsonl:2", "prompts.jsonl:3", "prompts.jsonl:4", "prompts.jsonl:6",
          "prompts.jsonl:7"), all.stream().map(Rollout::getPromptId).toList(), "one rollout per servable prompt, in order");
      assertEquals(List.of(0L, 0L, 0L, 1L, 1L, 2L), all.stream().map(Rollout::getBatchIndex).toList());
      assertEquals(List.of(0L, 0L, 0L, 0L, 0L, 1L), all.stream().map(Rollout::getPolicyVersion).toList(),
          "batch k by version max(0, k - 1)");
      assertEquals(7, store.resumeOffset(new PromptSource(prompts, false).id()));
      assertEquals(3, store.resumeOffset(RolloutGraph.BATCHES));
      for (Rollout r : all) {
        assertEquals(r.getResponseTokenIdsCount(), r.getSampledLogprobsCount());
        assertEquals(r.getResponseTokenIdsCount(), r.getReferenceLogprobsCount());
        assertEquals((float) T, r.getTemperature());
        assertEquals(0, r.getValuesCount(), "values are the learner's");
        assertTrue(Float.isFinite(r.getScore()));
      }
      // version 0 is the reference itself: sampled and reference log-probs agree on batch 0
      assertArrayEquals(floats(all.get(0).getSampledLogprobsList()), floats(all.get(0).getReferenceLogprobsList()), 1e-4f);
      assertReferenceIsTheContinuationScorer(batches);
    }
  }

  @Test
  void shouldGenerateEveryBatchWithTheLatestVersionWhenLagIsZero() throws Exception {
    try (RecordStore store = RecordStore.inMemory()) {
      new Run(0).run(store, Long.MAX_VALUE);
      assertEquals(List.of(0L, 0L, 0L, 1L, 1L, 2L), rollouts(store).stream().map(Rollout::getPolicyVersion).toList());
    }
  }

  @Test
  void shouldResumeAfterTheLastCommittedBatchWithTheSameRollouts() throws Exception {
    List<Rollout> straight;
    try (RecordStore store = RecordStore.inMemory()) {
      new Run(1).run(store, Long.MAX_VALUE);
      straight = rollouts(store);
    }
    try (RecordStore store = RecordStore.inMemory()) {
      new Run(1).run(store, 1);
      assertEquals(3, store.resumeOffset(new PromptSource(prompts, false).id()));
      new Run(1).run(store, Long.MAX_VALUE); // fresh actors, as after a restart
      List<Rollout> resumed = rollouts(store);
      assertEquals(straight.size(), resumed.size(), "no duplicate, no gap");
      for (int i = 0; i < straight.size(); i++) {
        assertEquals(straight.get(i).toBuilder().clearCreatedAtMs().build(), resumed.get(i).toBuilder().clearCreatedAtMs().build(),
            "rollout " + i + " is bit-identical");
      }
    }
  }

  /** Reference log-probs of each batch equal ContinuationScorer's on the same model and batch. */
  private static void assertReferenceIsTheContinuationScorer(List<RolloutGraph.RolloutBatch> batches) {
    try (LoadedModel m = ModelFiles.load(policyModel); LlamaModel model = LlamaModel.create(m.weights(), DeviceSetting.CPU)) {
      ContinuationScorer scorer = new ContinuationScorer(model);
      for (RolloutGraph.RolloutBatch b : batches) {
        List<int[]> contexts = new ArrayList<>();
        List<int[]> continuations = new ArrayList<>();
        for (Rollout r : b.rollouts()) {
          contexts.add(r.getPromptTokenIdsList().stream().mapToInt(Integer::intValue).toArray());
          continuations.add(r.getResponseTokenIdsList().stream().mapToInt(Integer::intValue).toArray());
        }
        List<float[]> expected = scorer.tokenLogProbs(contexts, continuations, T);
        for (int i = 0; i < b.rollouts().size(); i++) {
          assertArrayEquals(expected.get(i), floats(b.rollouts().get(i).getReferenceLogprobsList()),
              "batch " + b.batchIndex() + " rollout " + i);
        }
      }
    }
  }

  private static float[] floats(List<Float> xs) {
    float[] out = new float[xs.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = xs.get(i);
    }
    return out;
  }
}
