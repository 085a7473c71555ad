package dev.cai.runtime.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.weights.ModelWeights;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PpoLearnerTest {
  private static final int TARGET = 7;
  private static final java.util.Set<Integer> TARGETS = java.util.Set.of(7, 8, 9, 10, 11, 12, 13, 14);

  private static PpoSettings settings(double lr, double beta) {
    PpoSettings d = PpoSettings.defaults();
    return new PpoSettings(4, 8, 8, lr, lr, 1.0, 0.2, 0.2, 0.1, 0.0, 1.0, 0.95, false, 1.0, Rewards.KlEstimator.K1,
        0.0, beta, false, 6.0, 10_000, 1, 2.0);
  }

  private static PpoLearner learner(ModelWeights base, PpoSettings s, long seed) {
    return PpoLearner.create(base, base, Map.of(), DeviceSetting.CPU, s, seed);
  }

  /** A learner state saved after 2 updates, and the policy weights after 4 straight ones. */
  private record Saved(dev.cai.protocol.v1.LearnerStateHeader header, java.util.Map<String, byte[]> blobs,
      float[] straight) {}

  private static Saved saveAfterTwoOfFour(PpoSettings s, ModelWeights base) {
    float[] straight;
    try (TinyRlLoop loop = new TinyRlLoop(base, learner(base, s, 9), 8, 6, r -> 4 * TinyRlLoop.share(r, TARGETS))) {
      loop.run(4);
      straight = flat(loop.learner.policyWeights());
    }
    java.util.Map<String, byte[]> blobs = new java.util.HashMap<>();
    try (TinyRlLoop loop = new TinyRlLoop(base, learner(base, s, 9), 8, 6, r -> 4 * TinyRlLoop.share(r, TARGETS))) {
      loop.run(2);
      return new Saved(LearnerStateCodec.encode(loop.learner.state(), List.of(), blobs::put), blobs, straight);
    }
  }

  /** Runs 2 more updates on a learner (another seed) that {@code restore} brought back to {@code saved}. */
  private static void assertResumesBitIdentically(ModelWeights base, PpoSettings s, Saved saved,
      java.util.function.Consumer<TinyRlLoop> restore) {
    try (TinyRlLoop loop = new TinyRlLoop(base, learner(base, s, 12345), 8, 6, r -> 4 * TinyRlLoop.share(r, TARGETS))) {
      restore.accept(loop);
      assertEquals(2, loop.learner.version());
      assertEquals(saved.header().getKlCoef(), loop.learner.klCoef());
      // every weight and moment came back exactly: the restored state encodes to the same content-addressed blobs
      dev.cai.protocol.v1.LearnerStateHeader again = LearnerStateCodec.encode(loop.learner.state(), List.of(),
          (k, v) -> assertArrayEquals(saved.blobs().get(k), v, k));
      assertEquals(saved.header().getTensorNamesList(), again.getTensorNamesList());
      assertEquals(saved.header().getAttributesMap(), again.getAttributesMap());
      assertEquals(saved.header().getRngState(), again.getRngState());
      loop.sampler.loadWeights(loop.learner.policyWeights());
      loop.run(2);
      assertArrayEquals(saved.straight(), flat(loop.learner.policyWeights()), 0f,
          "weights after 2 + 2 updates equal 4 straight");
    }
  }

  @Test
  void shouldResumeBitIdenticallyFromADecodedSnapshot() {
    ModelWeights base = TinyRlLoop.base();
    PpoSettings s = settings(1e-3, 0.05);
    Saved saved = saveAfterTwoOfFour(s, base);
    assertResumesBitIdentically(base, s, saved, loop -> loop.learner.restore(LearnerStateCodec.decode(saved.header(),
        k -> java.util.Optional.ofNullable(saved.blobs().get(k)), base.config(), base.config(), "test")));
  }

  @Test
  void shouldResumeBitIdenticallyWhenRestoredTensorByTensor() {
    ModelWeights base = TinyRlLoop.base();
    PpoSettings s = settings(1e-3, 0.05);
    Saved saved = saveAfterTwoOfFour(s, base);
    assertResumesBitIdentically(base, s, saved, loop -> LearnerStateCodec.restore(saved.header(),
        k -> java.util.Optional.ofNullable(saved.blobs().get(k)), "test", loop.learner.restoreTarget()));
  }

  private static float[] flat(ModelWeights w) {
    return w.tensors().values().stream().map(t -> t.data()).reduce(new float[0], (a, b) -> {
      float[] c = java.util.Arrays.copyOf(a, a.length + b.length);
      System.arraycopy(b, 0, c, a.length, b.length);
      return c;
    });
  }

  @Test
  void shouldStartEachUpdateOnPolicyWithRatioOne() {
    ModelWeights base = TinyRlLoop.base();
    PpoSettings s = new PpoSettings(1, 16, 16, 1e-9, 1e-9, 1.0, 0.2, 0.2, 0.1, 0.0, 1.0, 0.95, false, 1.0,
        Rewards.KlEstimator.K1, 0.0, 0.05, false, 6.0, 10_000, 1, 2.0);
    try (TinyRlLoop loop = new TinyRlLoop(base, learner(base, s, 1), 16, 8, r -> TinyRlLoop.share(r, TARGET))) {
      List<RolloutSample> rollouts = loop.rollouts(0, 0);
      UpdateStats u = loop.learner.update(rollouts);
      assertEquals(0.0, u.clipFraction());
      assertTrue(u.approxKl() < 1e-10, "approx KL " + u.approxKl());
      assertTrue(Math.abs(u.kl()) < 1e-4, "KL to the reference at version 0: " + u.kl());
    }
  }

  @Test
  void shouldRaiseAProgrammaticRewardWhileKlStaysBounded() {
    ModelWeights base = TinyRlLoop.base();
    try (TinyRlLoop loop = new TinyRlLoop(base, learner(base, settings(1e-3, 0.05), 1), 16, 8,
        r -> 4 * TinyRlLoop.share(r, TARGETS))) {
      List<UpdateStats> stats = loop.run(40);
      double first = stats.get(0).meanScore();
      double last = (stats.get(37).meanScore() + stats.get(38).meanScore() + stats.get(39).meanScore()) / 3;
      assertTrue(last - first > 1.5, "mean reward should rise by > 1.5: first " + first + ", last three " + last);
      for (UpdateStats s : stats) {
        assertTrue(s.kl() < 20, "KL per response stays bounded: " + s.kl() + " at version " + s.version());
      }
      assertEquals(40, loop.learner.version());
    }
  }
}
