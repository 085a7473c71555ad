package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.cai.app.ClusterProcesses.Proc;
import dev.cai.cluster.HostPort;
import dev.cai.cluster.learner.LearnerJob;
import dev.cai.cluster.learner.StateDigest;
import dev.cai.persistence.RecordStore;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.train.TinyPreferenceModel;
import dev.cai.streams.RlJob;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Learner failover across three forked {@code cai node} JVMs on 127.0.0.1 (a policy seed and two learners, so that
 * keep-majority survives the loss of one): the RL job (tiny models) runs as the cluster singleton on the oldest
 * learner, which ships a store checkpoint to the standby every 2 updates; once the standby installed version 4 and the
 * active learner went on to update 5 it is killed with kill -9; the singleton restarts on the standby from the newest
 * checkpoint there (at most K = 2 updates behind the killed learner), recomputes the lost updates and finishes the
 * run with weights bit-identical to an uninterrupted run.
 */
class LearnerFailoverIT {
  private static final int UPDATES = 10;
  private static final int SHIP_EVERY = 2;
  private static final Pattern INSTALLED = Pattern.compile(
      "learner: installed checkpoint (\\S+) version (\\d+) \\((\\d+) files, (\\d+) bytes, (\\d+) chunks\\) from \\S+ in (\\d+) ms.*");
  private static final Pattern RESUMED = Pattern.compile("learner: learner resumes from shipped checkpoint (\\S+) at version (\\d+)");
  private static final Pattern DONE = Pattern.compile("learner: done (version \\d+ policy-sha256 \\S+ state-sha256 \\S+) .*");
  private static final Pattern UPDATE = Pattern.compile("learner: update (\\d+).*");

  @Test
  void shouldResumeTheSingletonOnTheStandbyFromTheShippedCheckpointAndReachTheSameWeights(@TempDir Path dir)
      throws Exception {
    Path job = writeJob(dir);
    // both learners come Up together (role minimum 2), so the job never runs without a standby
    Path nodeConf = Files.writeString(dir.resolve("node.conf"), "cai.cluster.learner { ship-every = " + SHIP_EVERY
        + ", chunk-size = 16 KiB, window = 4 }\npekko.cluster.role.learner.min-nr-of-members = 2\n");
    try (ClusterProcesses cluster = new ClusterProcesses(dir)) {
      failOver(cluster, dir, job, nodeConf);
    }
  }

  private static void failOver(ClusterProcesses cluster, Path dir, Path job, Path nodeConf) throws Exception {
    int[] ports = HostPort.freeLocalPorts(6);
    String seeds = "127.0.0.1:" + ports[0];
    long t0 = System.nanoTime();
    // the seed is a policy node (serving the tiny model): not a learner, so never the singleton's host
    Proc seed = cluster.node("seed", "policy", ports[0], ports[1], seeds, PASSIVE, List.of(), "--config",
        nodeConf.toString(), "--model", dir.resolve("policy.gguf").toString());
    cluster.awaitLine(seed, Pattern.compile("node .* role=policy .*")); // learners that come too early retry for 5 s
    List<Proc> learners = List.of(
        learner(cluster, "learner-a", seeds, ports[2], ports[3], nodeConf, job, dir.resolve("a")),
        learner(cluster, "learner-b", seeds, ports[4], ports[5], nodeConf, job, dir.resolve("b")));

    // the uninterrupted run of the same job, in this JVM, meanwhile
    CompletableFuture<StateDigest> reference = CompletableFuture.supplyAsync(() -> referenceRun(job, dir.resolve("ref")));

    Proc active = cluster.awaitAny(learners, Pattern.compile("learner: learner resumes from a fresh store.*"));
    Proc standby = learners.get(0) == active ? learners.get(1) : learners.get(0);
    double startedSecs = (System.nanoTime() - t0) / 1e9;
    // kill between two checkpoints: the standby holds version 4, the active learner has gone on to update 5
    Matcher installed = cluster.awaitLine(standby, Pattern.compile(INSTALLED.pattern().replace("version (\\d+)",
        "version ([4-9]|\\d\\d+)")));
    cluster.awaitLine(active, Pattern.compile("learner: update ([5-9]|\\d\\d+).*"));
    active.process().destroyForcibly(); // kill -9: no shutdown, no leave
    long killedAt = System.nanoTime();
    assertTrue(active.process().waitFor(10, TimeUnit.SECONDS));
    long killedVersion = active.lines().stream().map(UPDATE::matcher).filter(Matcher::matches)
        .mapToLong(m -> Long.parseLong(m.group(1))).max().orElse(0);
    assertTrue(killedVersion > Long.parseLong(installed.group(2)) && killedVersion < UPDATES, "killed mid-run at update "
        + killedVersion + " after shipping version " + installed.group(2) + "\n" + active.logs());

    Matcher resumed = cluster.awaitLine(standby, RESUMED);
    double failoverSecs = (System.nanoTime() - killedAt) / 1e9;
    List<Matcher> installs = standby.lines().stream().map(INSTALLED::matcher).filter(Matcher::matches).toList();
    Matcher newest = installs.get(installs.size() - 1);
    assertEquals(newest.group(1), resumed.group(1), "the standby resumes from the newest checkpoint it installed");
    long resumedVersion = Long.parseLong(resumed.group(2));
    assertEquals(Long.parseLong(newest.group(2)), resumedVersion);
    assertTrue(resumedVersion >= killedVersion - SHIP_EVERY, "at most K = " + SHIP_EVERY + " updates lost: killed at "
        + killedVersion + ", resumed at " + resumedVersion + "\n" + active.logs());

    double resumedSecs = (System.nanoTime() - t0) / 1e9;
    Matcher done = cluster.awaitLine(standby, DONE);
    StateDigest expected = reference.get(3, TimeUnit.MINUTES);
    assertEquals(UPDATES, expected.version());
    assertEquals(expected.toString(), done.group(1),
        "policy weights (and critic and Adam moments) bit-identical to the uninterrupted run\n" + standby.logs());
    System.out.printf("learner failover: job started %.1f s after start; checkpoint %s (version %s, %s files, %s bytes) "
            + "received by the standby in %s ms (%s chunks of <= 16 KiB); kill -9 at update %d; the singleton resumed on "
            + "the standby from version %d %.1f s after the kill (%.1f s after start); %d updates done %.1f s after start%n",
        startedSecs, installed.group(1), installed.group(2), installed.group(3), installed.group(4), installed.group(6),
        installed.group(5), killedVersion, resumedVersion, failoverSecs,
        resumedSecs, UPDATES, (System.nanoTime() - t0) / 1e9);
  }

  /** The same job, uninterrupted, on one actor system in this JVM: the final state's digest. */
  private static StateDigest referenceRun(Path job, Path dir) {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "reference");
    try {
      LearnerJob j = LearnerJob.load(job, ConfigFactory.load(), dir);
      try (RecordStore store = RecordStore.open(dir.resolve("store"))) {
        RlJob.Summary s = RlJob.run(system, store, j.config(), p -> { }).toCompletableFuture().get(3, TimeUnit.MINUTES);
        assertEquals(0, s.startVersion());
        return StateDigest.of(store);
      }
    } catch (Exception e) {
      throw new IllegalStateException("reference run failed: " + e, e);
    } finally {
      system.terminate();
    }
  }

  /** Tiny random models and prompts, and a job of {@link #UPDATES} updates of 3 prompts, max-staleness 0, commits every 2. */
  private static Path writeJob(Path dir) throws Exception {
    Path policy = dir.resolve("policy.gguf");
    TinyLlama.write(policy, 3, GgmlType.F32);
    Path pm = TinyPreferenceModel.train(policy, dir);
    Path prompts = Files.write(dir.resolve("prompts.jsonl"), IntStream.rangeClosed(1, 40)
        .mapToObj(i -> "{\"prompt\": \"question number " + i + "?\"}").toList());
    return Files.writeString(dir.resolve("rl-job.conf"), String.join("\n",
        "rl-job {",
        "  sl-checkpoint = \"" + policy.getFileName() + "\"",
        "  pm = \"" + dir.relativize(pm) + "\"",
        "  prompts = [\"" + prompts.getFileName() + "\"]",
        "  updates = " + UPDATES,
        "  device = cpu",
        "  settings { batch-size = 3, max-staleness = 0, commit-every = 2, seed = 7, max-new-tokens = 6, epochs = 2,",
        "    minibatch-size = 2, micro-batch-size = 2, lr = 1e-3, critic-lr = 1e-3, temperature = 0.8 }",
        // each model call waits 250 ms for a batch to fill: a few seconds per run, time to kill it between checkpoints
        "  batching { max-batch-size = 8, max-wait = 250ms }",
        "}", ""));
  }

  /** The environment of the forked nodes: PyTorch's OpenMP workers must not busy-wait on a shared 2-core CPU. */
  private static final Map<String, String> PASSIVE = Map.of("OMP_WAIT_POLICY", "PASSIVE");

  private static Proc learner(ClusterProcesses cluster, String name, String seeds, int port, int mgmt, Path conf, Path job,
      Path dir) throws IOException {
    return cluster.node(name, "learner", port, mgmt, seeds, PASSIVE, List.of(), "--config", conf.toString(), "--rl-job",
        job.toString(), "--learner-dir", dir.toString());
  }
}
