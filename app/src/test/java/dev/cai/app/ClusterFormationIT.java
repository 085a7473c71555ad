package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three {@code cai node} JVMs (roles policy, feedback, learner) form a Pekko cluster on 127.0.0.1; the Split Brain
 * Resolver downs the policy node after a kill -9, and the feedback node leaves gracefully on SIGTERM.
 */
class ClusterFormationIT {
  /** Longest wait for each cluster change (formation; downing after kill -9: failure detection + stable-after 5s; leave). */
  private static final Duration STEP = Duration.ofSeconds(30);

  private final List<ForkedNode> nodes = new ArrayList<>();

  @AfterEach
  void stopAll() throws Exception {
    for (ForkedNode n : nodes) {
      n.close();
    }
  }

  @Test
  void shouldFormDownACrashedNodeAndLetANodeLeaveGracefully(@TempDir Path dir) throws Exception {
    int[] ports = ForkedNode.freePorts(6);
    String seeds = "127.0.0.1:" + ports[0];
    ForkedNode policy = start(dir, "policy", ports[0], ports[1], seeds);
    ForkedNode feedback = start(dir, "feedback", ports[2], ports[3], seeds);
    ForkedNode learner = start(dir, "learner", ports[4], ports[5], seeds);
    long t0 = System.nanoTime();

    // 1. formation: every node sees the same three members Up, each with its role, and is ready
    Map<String, String> all = Map.of(policy.address(), "policy", feedback.address(), "feedback", learner.address(), "learner");
    for (ForkedNode n : nodes) {
      n.awaitMembers(all, STEP, nodes);
      assertEquals(200, n.get("/ready").statusCode(), n.logs());
      assertEquals(200, n.get("/alive").statusCode(), n.logs());
      assertEquals("node " + n.address() + " role=" + n.name() + " roles=" + n.name() + " management=http://127.0.0.1:"
          + n.managementPort() + " seeds=[" + seeds + "]", n.stdoutText().strip());
    }
    long t1 = System.nanoTime();

    // 2. kill -9 the policy node: the Split Brain Resolver (keep-majority, 2 of 3) downs it
    policy.process().destroyForcibly();
    assertTrue(policy.process().waitFor(10, TimeUnit.SECONDS));
    Map<String, String> two = Map.of(feedback.address(), "feedback", learner.address(), "learner");
    feedback.awaitMembers(two, STEP, nodes);
    learner.awaitMembers(two, STEP, nodes);
    long t2 = System.nanoTime();

    // 3. SIGTERM the feedback node: coordinated shutdown leaves the cluster (its last status is Removed, not Down),
    // the learner stays Up alone
    feedback.process().destroy();
    assertTrue(feedback.process().waitFor(STEP.toSeconds(), TimeUnit.SECONDS), feedback.logs());
    assertTrue(feedback.stderrText().contains("node " + feedback.address() + " stopped (JvmExitReason, member status Removed)"),
        feedback.logs());
    learner.awaitMembers(Map.of(learner.address(), "learner"), STEP, nodes);
    assertTrue(learner.process().isAlive(), learner.logs());
    assertEquals(200, learner.get("/ready").statusCode(), learner.logs());
    System.out.printf("cluster: 3 members Up %.1f s after start; policy downed %.1f s after kill -9; feedback left %.1f s after SIGTERM%n",
        (t1 - t0) / 1e9, (t2 - t1) / 1e9, (System.nanoTime() - t2) / 1e9);
  }

  private ForkedNode start(Path dir, String role, int port, int managementPort, String seeds) throws Exception {
    ForkedNode n = ForkedNode.caiNode(dir, role, role, port, managementPort, seeds, Map.of());
    nodes.add(n);
    return n;
  }
}
