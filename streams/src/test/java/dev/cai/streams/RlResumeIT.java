package dev.cai.streams;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.actors.LearnerActor;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.persistence.Stored;
import dev.cai.protocol.v1.Comparison;
import dev.cai.protocol.v1.LearnerStateHeader;
import dev.cai.protocol.v1.Rollout;
import dev.cai.runtime.eval.RewardModel;
import dev.cai.runtime.io.CheckpointStore;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.ppo.LearnerStateCodec;
import dev.cai.runtime.train.PreferenceRefresh;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.LoadedModel;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of an RL run (forked JVM, tiny real models, lag 1) right after a learner commit; the restarted run replays
 * the stored batches it had not learned and continues: after the same number of updates its policy, critic and
 * optimizer state are bit-identical to an uninterrupted run with the same seed, and so are its rollouts.
 */
class RlResumeIT {
  private static final int UPDATES = 6;

  @Test
  void shouldReachBitIdenticalWeightsAfterKillMinus9AndResume(@TempDir Path dir) throws Exception {
    killAndResume(dir, false);
  }

  /**
   * The same with continual RLAIF (a PM refresh every 2 batches): besides the learner, the comparisons and the
   * refreshed PMs are identical. The kill comes after batch 1 (whose pairs refresh 1 trains on) was committed; the
   * newest refresh directory of the killed run, if any, is made unfinished (as if killed while it trained), so the
   * resumed run trains at least one refresh again from the stored comparisons, into the same model.
   */
  @Test
  void shouldResumeContinualRlaifBitIdenticallyRetrainingAnUnfinishedRefresh(@TempDir Path dir) throws Exception {
    killAndResume(dir, true);
  }

  private void killAndResume(Path dir, boolean continual) throws Exception {
    Path policy = TinyRl.policy(dir);
    Path pm = TinyRl.preferenceModel(dir, policy);
    Path prompts = TinyRl.prompts(dir.resolve("prompts.jsonl"), 40, 5);
    Path straight = dir.resolve("straight");
    Path interrupted = dir.resolve("interrupted");

    Process once = start(straight, policy, pm, prompts, continual);
    String output = new String(once.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(once.waitFor(5, TimeUnit.MINUTES));
    assertEquals(0, once.exitValue(), output);
    assertTrue(output.contains("done " + UPDATES + " replayed 0"), output);

    Process child = start(interrupted, policy, pm, prompts, continual);
    String killedAfter = null;
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("committed ")) {
          killedAfter = line;
          break;
        }
      }
    }
    child.destroyForcibly(); // SIGKILL: no shutdown hooks, no flush
    assertTrue(child.waitFor(30, TimeUnit.SECONDS));
    assertEquals("committed 2", killedAfter, "killed right after the first learner commit");
    try (RecordStore rs = RecordStore.open(interrupted.resolve("store"))) {
      long committed = rs.learnerHeader().orElseThrow().getPolicyVersion();
      assertTrue(committed >= 2 && committed < UPDATES, "killed mid-run at committed version " + committed);
      assertTrue(rs.nextSequence(RecordKind.ROLLOUTS) > rs.resumeOffset(LearnerActor.ROLLOUTS_CONSUMED),
          "stored batches wait to be replayed");
      if (continual) { // so the resumed run trains at least one refresh (below) from the stored pairs
        assertTrue(comparisons(rs).stream().anyMatch(c -> c.getRlBatchIndex() == 1), "batch 1's pairs are committed");
      }
    }

    Path unfinished = null;
    if (continual && Files.isDirectory(interrupted.resolve("pm-refresh"))) {
      // the newest refresh (finished or killed while training) loses its last file: it must be trained again
      try (var dirs = Files.list(interrupted.resolve("pm-refresh"))) {
        unfinished = dirs.sorted().reduce((a, b) -> b).orElseThrow();
      }
      Files.deleteIfExists(PreferenceRefresh.model(unfinished).resolve(RewardModel.NORMALIZATION));
    }
    Process resumed = start(interrupted, policy, pm, prompts, continual);
    String resumedOutput = new String(resumed.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(resumed.waitFor(5, TimeUnit.MINUTES));
    assertEquals(0, resumed.exitValue(), resumedOutput);
    assertTrue(resumedOutput.matches("(?s).*done " + UPDATES + " replayed [1-9].*"), resumedOutput);

    LlamaConfig config;
    try (LoadedModel m = ModelFiles.load(policy)) {
      config = m.weights().config();
    }
    try (RecordStore a = RecordStore.open(straight.resolve("store"));
         RecordStore b = RecordStore.open(interrupted.resolve("store"))) {
      LearnerStateHeader ha = a.learnerHeader().orElseThrow();
      LearnerStateHeader hb = b.learnerHeader().orElseThrow();
      assertEquals(UPDATES, ha.getPolicyVersion());
      assertEquals(UPDATES, hb.getPolicyVersion());
      assertEquals(policySha256(a, ha, config), policySha256(b, hb, config), "policy weights are bit-identical");
      assertEquals(ha.getTensorNamesList(), hb.getTensorNamesList(),
          "every tensor (policy, critic, Adam moments) has the same SHA-256");
      assertEquals(ha.getKlCoef(), hb.getKlCoef());
      assertEquals(ha.getRngState(), hb.getRngState());
      assertEquals(rollouts(a), rollouts(b), "the same rollouts, each exactly once");
      assertEquals(a.resumeOffset(LearnerActor.ROLLOUTS_CONSUMED), b.resumeOffset(LearnerActor.ROLLOUTS_CONSUMED));
      if (continual) {
        assertEquals(comparisons(a), comparisons(b), "the same labeled pairs, each exactly once");
        assertEquals(List.of(1L, 1L, 3L, 3L, 5L, 5L), comparisons(a).stream().map(Comparison::getRlBatchIndex).toList());
        assertTrue(rollouts(a).stream().anyMatch(r -> r.getPmVersion() == 3), "batch 6 is scored by refresh 3");
      }
    }
    if (continual) {
      assertTrue(unfinished == null || PreferenceRefresh.isComplete(unfinished), "trained again: " + unfinished);
      for (long v : new long[] {1, 2, 3}) {
        Path ma = PreferenceRefresh.model(PmRefresher.dir(straight.resolve("pm-refresh"), v));
        Path mb = PreferenceRefresh.model(PmRefresher.dir(interrupted.resolve("pm-refresh"), v));
        for (String file : List.of(CheckpointStore.MODEL, CheckpointStore.HEADS, RewardModel.NORMALIZATION)) {
          assertArrayEquals(Files.readAllBytes(ma.resolve(file)), Files.readAllBytes(mb.resolve(file)),
              "refresh " + v + ": " + file);
        }
      }
    }
    List<String> versions = new ArrayList<>();
    for (String line : Files.readAllLines(interrupted.resolve(RlJob.METRICS_FILE))) {
      versions.add(line.replaceAll(".*\"version\":(\\d+).*", "$1"));
    }
    assertEquals(List.of("1", "2", "3", "4", "5", "6"), versions, "one metrics line per update, no duplicate after resume");
  }

  /** SHA-256 over the committed policy tensors, in name order. */
  private static String policySha256(RecordStore store, LearnerStateHeader header, LlamaConfig config) throws Exception {
    Map<String, HostTensor> tensors = new TreeMap<>(LearnerStateCodec.decode(header, store::learnerState, config, config,
        store.location()).policy().model().tensors());
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    for (HostTensor t : tensors.values()) {
      sha.update(t.name().getBytes(StandardCharsets.UTF_8));
      ByteBuffer bytes = ByteBuffer.allocate(t.data().length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      bytes.asFloatBuffer().put(t.data());
      sha.update(bytes.array());
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  private static List<Rollout> rollouts(RecordStore store) {
    return store.read(RecordKind.ROLLOUTS, 0, 10_000).stream().map(Stored::record)
        .map(r -> r.toBuilder().clearCreatedAtMs().build()).toList();
  }

  private static List<Comparison> comparisons(RecordStore store) {
    return store.read(RecordKind.COMPARISONS, 0, 10_000).stream().map(Stored::record)
        .map(c -> c.toBuilder().clearCreatedAtMs().build()).toList();
  }

  private static Process start(Path runDir, Path policy, Path pm, Path prompts, boolean continual) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx1g", "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), RlJobMain.class.getName(),
        runDir.toString(), policy.toString(), pm.toString(), prompts.toString(), Integer.toString(UPDATES),
        continual ? "continual" : "plain"));
    return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
  }
}
