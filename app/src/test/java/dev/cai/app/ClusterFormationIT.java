package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.app.ClusterProcesses.Proc;
import dev.cai.cluster.HostPort;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three {@code cai node} JVMs (roles policy, feedback, learner) form a Pekko cluster on 127.0.0.1; the Split Brain
 * Resolver downs the policy node after a kill -9, and the feedback node leaves gracefully on SIGTERM.
 */
class ClusterFormationIT {
  @Test
  void shouldFormDownACrashedNodeAndLetANodeLeaveGracefully(@TempDir Path dir) throws Exception {
    try (ClusterProcesses cluster = new ClusterProcesses(dir)) {
      int[] ports = HostPort.freeLocalPorts(6);
      String seeds = "127.0.0.1:" + ports[0];
      Path model = dir.resolve("tiny.gguf"); // the workers of the policy and feedback nodes serve it
      TinyLlama.write(model, 3, GgmlType.F32);
      Proc policy = cluster.node("policy", "policy", ports[0], ports[1], seeds, List.of(), "--model", model.toString());
      Proc feedback = cluster.node("feedback", "feedback", ports[2], ports[3], seeds, List.of(), "--model", model.toString());
      Proc learner = cluster.node("learner", "learner", ports[4], ports[5], seeds, List.of());
      long t0 = System.nanoTime();

      // 1. formation: every node sees the same three members Up, each with its role, and is ready
      Map<String, String> all = Map.of(policy.address(), "policy", feedback.address(), "feedback", learner.address(), "learner");
      for (Proc n : List.of(policy, feedback, learner)) {
        cluster.awaitMembers(n, all);
        assertEquals(200, cluster.get(n, "/ready").statusCode(), n.logs());
        assertEquals(200, cluster.get(n, "/alive").statusCode(), n.logs());
        String line = Files.readString(n.stdout()).strip();
        String workers = n == learner ? "" : " workers=" + n.name() + " model=tiny";
        assertEquals("node " + n.address() + " role=" + n.name() + " roles=" + n.name() + " management=http://127.0.0.1:"
            + n.managementPort() + " seeds=[" + seeds + "]" + workers, line);
      }
      long t1 = System.nanoTime();

      // 2. kill -9 the policy node: the Split Brain Resolver (keep-majority, 2 of 3) downs it
      policy.process().destroyForcibly();
      assertTrue(policy.process().waitFor(10, TimeUnit.SECONDS));
      Map<String, String> two = Map.of(feedback.address(), "feedback", learner.address(), "learner");
      cluster.awaitMembers(feedback, two);
      cluster.awaitMembers(learner, two);
      long t2 = System.nanoTime();

      // 3. SIGTERM the feedback node: coordinated shutdown leaves the cluster (its last status is Removed, not Down),
      // the learner stays Up alone
      feedback.process().destroy();
      assertTrue(feedback.process().waitFor(ClusterProcesses.STEP.toSeconds(), TimeUnit.SECONDS), feedback.logs());
      assertTrue(feedback.stderrText().contains("node " + feedback.address() + " stopped (JvmExitReason, member status Removed)"),
          feedback.logs());
      cluster.awaitMembers(learner, Map.of(learner.address(), "learner"));
      assertTrue(learner.process().isAlive(), learner.logs());
      assertEquals(200, cluster.get(learner, "/ready").statusCode(), learner.logs());
      System.out.printf("cluster: 3 members Up %.1f s after start; policy downed %.1f s after kill -9; feedback left %.1f s after SIGTERM%n",
          (t1 - t0) / 1e9, (t2 - t1) / 1e9, (System.nanoTime() - t2) / 1e9);
    }
  }
}
