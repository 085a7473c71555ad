package dev.cai.runtime.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.cai.protocol.Codecs;
import dev.cai.protocol.v1.LearnerStateHeader;
import dev.cai.protocol.v1.PolicyWeightsChunk;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.weights.ModelWeights;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The learner's small pieces: batch layout, importance weights, explained variance, staleness, state codec errors. */
class LearnerPiecesTest {

  private static RolloutSample rollout(String id, int[] prompt, int[] response, long version) {
    float[] lp = new float[response.length];
    return new RolloutSample(id, prompt, response, lp, lp.clone(), 1.0, true, version);
  }

  @Test
  void shouldLayOutRowsRightPaddedWithTargetsOnResponseTokens() {
    List<RolloutSample> batch = List.of(rollout("a", new int[] {5, 6}, new int[] {7, 8, 1}, 0),
        rollout("b", new int[] {9}, new int[] {10}, 0));
    PpoBatch b = PpoBatch.of(batch, new int[] {1, 0}, 2);
    assertEquals(5, b.tokens().seqLen());
    assertArrayEquals(new int[] {9, 10, 2, 2, 2, 5, 6, 7, 8, 1}, b.tokens().inputIds());
    assertArrayEquals(new int[] {1, 1, 0, 0, 0, 1, 1, 1, 1, 1}, b.tokens().attentionMask());
    // row 0 predicts its response token at position 0; row 1 at positions 1..3 (flattened 6, 7, 8)
    assertArrayEquals(new long[] {0, 6, 7, 8}, b.targets().rows());
    assertArrayEquals(new long[] {10, 7, 8, 1}, b.targets().ids());
    float[][] perRollout = {{0.1f, 0.2f, 0.3f}, {0.9f}};
    float[] flat = b.flatten(perRollout);
    assertArrayEquals(new float[] {0.9f, 0.1f, 0.2f, 0.3f}, flat);
    float[][] back = new float[2][];
    b.scatter(flat, back);
    assertArrayEquals(perRollout[0], back[0]);
    assertArrayEquals(perRollout[1], back[1]);
  }

  @Test
  void shouldTruncateImportanceWeightsOfStaleRollouts() {
    float[] adv = {1f, -2f, 0.5f};
    float[] learner = {-1f, -0.5f, -3f};
    float[] behaviour = {-1f, -1.5f, -2f};
    // weights exp(0)=1, min(2, e^1)=2, exp(−1)=0.3679
    assertArrayEquals(new float[] {1f, -4f, (float) (0.5 * Math.exp(-1))},
        PpoLearner.importanceWeighted(adv, learner, behaviour, 2.0), 1e-6f);
  }

  @Test
  void shouldComputeExplainedVarianceOverAllTokens() {
    float[][] ret = {{1f, 2f}, {3f}};
    assertEquals(1.0, PpoLearner.explainedVariance(ret, ret), 1e-12);
    float[][] zeros = {{0f, 0f}, {0f}};
    assertEquals(0.0, PpoLearner.explainedVariance(ret, zeros), 1e-12); // residual = returns: Var ratio 1
    float[][] half = {{0.5f, 1f}, {1.5f}};
    assertEquals(0.75, PpoLearner.explainedVariance(ret, half), 1e-6); // residual = returns/2: 1 − 1/4
  }

  @Test
  void shouldDropTooStaleRolloutsAndReportStaleness() {
    ModelWeights base = TinyRlLoop.base();
    PpoSettings s = PpoSettings.defaults();
    try (PpoLearner l = PpoLearner.create(base, base, Map.of(), DeviceSetting.CPU, s, 1)) {
      l.update(List.of(rollout("a", new int[] {5}, new int[] {6, 1}, 0)));
      l.update(List.of(rollout("b", new int[] {5}, new int[] {6, 1}, 1)));
      UpdateStats u = l.update(List.of(rollout("c", new int[] {5}, new int[] {6, 1}, 0),
          rollout("d", new int[] {5}, new int[] {7, 1}, 1), rollout("e", new int[] {5}, new int[] {8, 1}, 2)));
      assertEquals(Map.of(0L, 1, 1L, 1, 2L, 1), u.staleness());
      assertEquals(1, u.dropped()); // max-staleness 1: the rollout of version 0 is 2 versions old
      assertEquals(2, u.rollouts());
      assertEquals(3, l.version());
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> l.update(List.of(rollout("f", new int[] {5}, new int[] {6}, 9))));
      assertTrue(e.getMessage().contains("version 9"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class,
          () -> l.update(List.of(rollout("g", new int[] {5}, new int[] {640}, 3))));
      assertTrue(e.getMessage().contains("token id 640"), e.getMessage());
    }
  }

  @Test
  void shouldRefuseCorruptMissingOrForeignLearnerState() {
    ModelWeights base = TinyRlLoop.base();
    Map<String, byte[]> blobs = new HashMap<>();
    LearnerStateHeader h = stateAfterOneUpdate(base, blobs);
    assertEquals(blobs.keySet(), LearnerStateCodec.blobKeys(h));
    assertTrue(blobs.keySet().stream().allMatch(LearnerStateCodec::isBlobKey));
    assertTrue(!LearnerStateCodec.isBlobKey(LearnerStateCodec.HEADER));
    String key = h.getTensorNames(3);
    String name = key.substring(0, key.lastIndexOf('@'));
    Map<String, byte[]> corrupt = new HashMap<>(blobs);
    PolicyWeightsChunk c = Codecs.POLICY_WEIGHTS_CHUNK.decode(corrupt.get(key));
    byte[] data = c.getData().toByteArray();
    data[0] ^= 1;
    corrupt.put(key, Codecs.POLICY_WEIGHTS_CHUNK.encode(c.toBuilder()
        .setData(com.google.protobuf.ByteString.copyFrom(data)).build()));
    assertMessage(h, corrupt, "tensor '" + name + "' fails its SHA-256 check");

    Map<String, byte[]> missing = new HashMap<>(blobs);
    missing.remove(key);
    assertMessage(h, missing, "lists tensor '" + name + "' but its blob");

    Map<String, byte[]> garbage = new HashMap<>(blobs);
    garbage.put(key, new byte[] {(byte) 0xff, 0x01});
    assertMessage(h, garbage, "tensor '" + name + "' is not readable");

    Map<String, byte[]> swapped = new HashMap<>(blobs);
    swapped.put(key, blobs.get(h.getTensorNames(4)));
    assertMessage(h, swapped, "tensor '" + name + "' holds tensor");

    IllegalStateException newer = assertThrows(IllegalStateException.class, () -> LearnerStateCodec.decode(
        h.toBuilder().setSchemaVersion(99).build(), k -> Optional.ofNullable(blobs.get(k)), base.config(), base.config(), "/runs/x/store"));
    assertTrue(newer.getMessage().contains("/runs/x/store") && newer.getMessage().contains("schema version 99"));

    // the intact state decodes and round-trips the scalars
    LearnerSnapshot s = LearnerStateCodec.decode(h, k -> Optional.ofNullable(blobs.get(k)), base.config(), base.config(), "test");
    assertEquals(1, s.version());
    assertEquals(4, s.policy().optimizer().orElseThrow().step()); // 4 epochs of one minibatch
  }

  @Test
  void shouldRefuseACorruptStateWhileRestoringTensorByTensor() {
    ModelWeights base = TinyRlLoop.base();
    Map<String, byte[]> blobs = new HashMap<>();
    LearnerStateHeader h = stateAfterOneUpdate(base, blobs);
    String key = h.getTensorNames(3);
    String name = key.substring(0, key.lastIndexOf('@'));
    PolicyWeightsChunk c = Codecs.POLICY_WEIGHTS_CHUNK.decode(blobs.get(key));

    Map<String, byte[]> corrupt = new HashMap<>(blobs);
    byte[] data = c.getData().toByteArray();
    data[data.length - 1] ^= 1;
    corrupt.put(key, Codecs.POLICY_WEIGHTS_CHUNK.encode(c.toBuilder().setData(ByteString.copyFrom(data)).build()));
    assertRestoreFails(h, corrupt, "tensor '" + name + "' fails its SHA-256 check");

    Map<String, byte[]> missing = new HashMap<>(blobs);
    missing.remove(key);
    assertRestoreFails(h, missing, "lists tensor '" + name + "' but its blob");

    // a well-formed, checksummed blob whose shape is not the learner's: [a, b] stored as [b, a] (or [n] as [n, 1])
    List<Long> shape = c.getShapeList();
    List<Long> other = shape.size() == 2 ? List.of(shape.get(1), shape.get(0)) : List.of(shape.get(0), 1L);
    assertTrue(!other.equals(shape), "the test needs a non-square tensor: " + shape);
    PolicyWeightsChunk reshaped = c.toBuilder().clearShape().addAllShape(other).build();
    Map<String, byte[]> misShaped = new HashMap<>(blobs);
    misShaped.put(key, Codecs.POLICY_WEIGHTS_CHUNK.encode(reshaped)); // same data, same SHA-256, same key
    assertRestoreFails(h, misShaped, "tensor '" + name + "' does not fit the learner", "has shape " + other);

    // a header that leaves a tensor out, or names a tensor the learner does not have
    LearnerStateHeader lacking = h.toBuilder().clearTensorNames()
        .addAllTensorNames(h.getTensorNamesList().stream().filter(k -> !k.equals(key)).toList()).build();
    assertRestoreFails(lacking, blobs, "is inconsistent", name.substring(name.lastIndexOf('/') + 1));
    PolicyWeightsChunk foreign = c.toBuilder().setTensorName("policy/weights/model.layers.99.mlp.up_proj.weight").build();
    String foreignKey = foreign.getTensorName() + "@" + foreign.getTensorSha256();
    Map<String, byte[]> withForeign = new HashMap<>(blobs);
    withForeign.put(foreignKey, Codecs.POLICY_WEIGHTS_CHUNK.encode(foreign));
    assertRestoreFails(h.toBuilder().addTensorNames(foreignKey).build(), withForeign,
        "tensor '" + foreign.getTensorName() + "' does not fit the learner", "no model parameter");
    assertRestoreFails(h.toBuilder().addTensorNames(key).build(), blobs, "tensor '" + name + "'", "twice");
    String secondMoment = h.getTensorNamesList().stream().filter(k -> k.startsWith("critic/adam.v/")).findFirst()
        .orElseThrow();
    String param = secondMoment.substring("critic/adam.v/".length(), secondMoment.lastIndexOf('@'));
    LearnerStateHeader oneMoment = h.toBuilder().clearTensorNames()
        .addAllTensorNames(h.getTensorNamesList().stream().filter(k -> !k.equals(secondMoment)).toList()).build();
    assertRestoreFails(oneMoment, blobs, "is inconsistent: critic: ", "only one of the two moments of [" + param + "]");
  }

  @Test
  void shouldCheckTheHeaderBeforeTouchingTheLearner() {
    ModelWeights base = TinyRlLoop.base();
    Map<String, byte[]> blobs = new HashMap<>();
    LearnerStateHeader h = stateAfterOneUpdate(base, blobs);
    try (PpoLearner fresh = PpoLearner.create(base, base, Map.of(), DeviceSetting.CPU, PpoSettings.defaults(), 1)) {
      Map<String, byte[]> before = new HashMap<>();
      LearnerStateHeader b = LearnerStateCodec.encode(fresh.state(), List.of(), before::put);
      IllegalStateException x = assertThrows(IllegalStateException.class, () -> LearnerStateCodec.restore(
          h.toBuilder().removeAttributes("critic.optimizer_step").build(), k -> Optional.ofNullable(blobs.get(k)),
          "/runs/x/store", fresh.restoreTarget()));
      assertTrue(x.getMessage().contains("/runs/x/store") && x.getMessage().contains("critic.optimizer_step"),
          x.getMessage());
      assertEquals(b.getTensorNamesList(), LearnerStateCodec.encode(fresh.state(), List.of(), (k, v) -> { })
          .getTensorNamesList(), "a refused header leaves the learner as it was");
      assertEquals(0, fresh.version());
    }
  }

  private static void assertRestoreFails(LearnerStateHeader h, Map<String, byte[]> values, String... expected) {
    ModelWeights base = TinyRlLoop.base();
    try (PpoLearner fresh = PpoLearner.create(base, base, Map.of(), DeviceSetting.CPU, PpoSettings.defaults(), 1)) {
      IllegalStateException x = assertThrows(IllegalStateException.class, () -> LearnerStateCodec.restore(h,
          k -> Optional.ofNullable(values.get(k)), "/runs/x/store", fresh.restoreTarget()));
      assertTrue(x.getMessage().contains("/runs/x/store"), x.getMessage());
      for (String e : expected) {
        assertTrue(x.getMessage().contains(e), "expected '" + e + "' in: " + x.getMessage());
      }
    }
  }

  @Test
  void shouldEncodeTheLiveStateExactlyLikeItsSnapshot() {
    ModelWeights base = TinyRlLoop.base();
    try (PpoLearner l = PpoLearner.create(base, base, Map.of(), DeviceSetting.CPU, PpoSettings.defaults(), 1)) {
      l.update(List.of(rollout("a", new int[] {5}, new int[] {6, 1}, 0)));
      Map<String, byte[]> fromSnapshot = new java.util.LinkedHashMap<>();
      Map<String, byte[]> live = new java.util.LinkedHashMap<>();
      LearnerStateHeader a = LearnerStateCodec.encode(l.snapshot(), List.of(), fromSnapshot::put);
      LearnerStateHeader b = LearnerStateCodec.encode(l.state(), List.of(), live::put);
      assertEquals(a.getTensorNamesList(), b.getTensorNamesList());
      assertEquals(a.getAttributesMap(), b.getAttributesMap());
      assertEquals(fromSnapshot.keySet(), live.keySet());
      fromSnapshot.forEach((k, v) -> assertArrayEquals(v, live.get(k), k));
      assertTrue(a.getTensorNamesCount() > 20 && a.getTensorNamesList().stream().anyMatch(n -> n.startsWith("critic/adam.v/")));
    }
  }

  /** The encoded state of a fresh learner after one update; its blobs go to {@code blobs}. */
  private static LearnerStateHeader stateAfterOneUpdate(ModelWeights base, Map<String, byte[]> blobs) {
    try (PpoLearner l = PpoLearner.create(base, base, Map.of(), DeviceSetting.CPU, PpoSettings.defaults(), 1)) {
      l.update(List.of(rollout("a", new int[] {5}, new int[] {6, 1}, 0)));
      return LearnerStateCodec.encode(l.state(), List.of(), blobs::put);
    }
  }

  private static void assertMessage(LearnerStateHeader h, Map<String, byte[]> values, String expected) {
    ModelWeights base = TinyRlLoop.base();
    IllegalStateException x = assertThrows(IllegalStateException.class,
        () -> LearnerStateCodec.decode(h, k -> Optional.ofNullable(values.get(k)), base.config(), base.config(), "/runs/x/store"));
    assertTrue(x.getMessage().contains(expected) && x.getMessage().contains("/runs/x/store"), x.getMessage());
  }
}
