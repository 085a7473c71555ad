package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
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

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final List<Node> nodes = new ArrayList<>();

  /** One forked node: its process, ports and the files its stdout and stderr go to. */
  record Node(String role, Process process, int port, int managementPort, Path stdout, Path stderr) {
    String address() {
      return "pekko://cai@127.0.0.1:" + port;
    }

    String logs() {
      try {
        return role + " stdout:\n" + Files.readString(stdout) + "\n" + role + " stderr:\n" + Files.readString(stderr);
      } catch (IOException e) {
        return role + ": " + e;
      }
    }
  }

  @AfterEach
  void stopAll() throws Exception {
    for (Node n : nodes) {
      n.process().destroyForcibly();
      n.process().waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void shouldFormDownACrashedNodeAndLetANodeLeaveGracefully(@TempDir Path dir) throws Exception {
    int[] ports = freePorts(6);
    String seeds = "127.0.0.1:" + ports[0];
    Node policy = start(dir, "policy", ports[0], ports[1], seeds);
    Node feedback = start(dir, "feedback", ports[2], ports[3], seeds);
    Node learner = start(dir, "learner", ports[4], ports[5], seeds);
    long t0 = System.nanoTime();

    // 1. formation: every node sees the same three members Up, each with its role, and is ready
    Map<String, String> all = Map.of(policy.address(), "policy", feedback.address(), "feedback", learner.address(), "learner");
    for (Node n : nodes) {
      awaitMembers(n, all);
      assertEquals(200, get(n, "/ready").statusCode(), n.logs());
      assertEquals(200, get(n, "/alive").statusCode(), n.logs());
      String line = Files.readString(n.stdout()).strip();
      assertEquals("node " + n.address() + " role=" + n.role() + " roles=" + n.role() + " management=http://127.0.0.1:"
          + n.managementPort() + " seeds=[" + seeds + "]", line);
    }
    long t1 = System.nanoTime();

    // 2. kill -9 the policy node: the Split Brain Resolver (keep-majority, 2 of 3) downs it
    policy.process().destroyForcibly();
    assertTrue(policy.process().waitFor(10, TimeUnit.SECONDS));
    Map<String, String> two = Map.of(feedback.address(), "feedback", learner.address(), "learner");
    awaitMembers(feedback, two);
    awaitMembers(learner, two);
    long t2 = System.nanoTime();

    // 3. SIGTERM the feedback node: coordinated shutdown leaves the cluster (its last status is Removed, not Down),
    // the learner stays Up alone
    feedback.process().destroy();
    assertTrue(feedback.process().waitFor(STEP.toSeconds(), TimeUnit.SECONDS), feedback.logs());
    assertTrue(Files.readString(feedback.stderr()).contains("node " + feedback.address() + " stopped (JvmExitReason, member status Removed)"),
        feedback.logs());
    awaitMembers(learner, Map.of(learner.address(), "learner"));
    assertTrue(learner.process().isAlive(), learner.logs());
    assertEquals(200, get(learner, "/ready").statusCode(), learner.logs());
    System.out.printf("cluster: 3 members Up %.1f s after start; policy downed %.1f s after kill -9; feedback left %.1f s after SIGTERM%n",
        (t1 - t0) / 1e9, (t2 - t1) / 1e9, (System.nanoTime() - t2) / 1e9);
  }

  private Node start(Path dir, String role, int port, int managementPort, String seeds) throws IOException {
    Path out = dir.resolve(role + ".out");
    Path err = dir.resolve(role + ".err");
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "node", "--role", role,
        "--seed", seeds, "--port", String.valueOf(port), "--management-port", String.valueOf(managementPort));
    Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    Node n = new Node(role, p, port, managementPort, out, err);
    nodes.add(n);
    return n;
  }

  /** Waits until {@code n}'s /cluster/members lists exactly {@code expected} (address → role), all Up, none unreachable. */
  private void awaitMembers(Node n, Map<String, String> expected) throws Exception {
    long deadline = System.nanoTime() + STEP.toNanos();
    String last = "no answer";
    while (System.nanoTime() < deadline) {
      if (!n.process().isAlive()) {
        fail(n.role() + " node exited (" + n.process().exitValue() + ")\n" + n.logs());
      }
      try {
        HttpResponse<String> r = get(n, "/cluster/members");
        last = r.statusCode() + " " + r.body();
        if (r.statusCode() == 200 && membersUp(r.body(), expected)) {
          return;
        }
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(250);
    }
    fail(n.role() + " node did not see " + expected + " Up within " + STEP.toSeconds() + " s; last: " + last + "\n"
        + String.join("\n", nodes.stream().map(Node::logs).toList()));
  }

  private static boolean membersUp(String body, Map<String, String> expected) {
    JsonObject o = JsonParser.parseString(body).getAsJsonObject();
    Map<String, String> seen = new TreeMap<>();
    for (JsonElement e : o.getAsJsonArray("members")) {
      JsonObject m = e.getAsJsonObject();
      if (!"Up".equals(m.get("status").getAsString())) {
        return false;
      }
      List<String> roles = new ArrayList<>();
      m.getAsJsonArray("roles").forEach(r -> roles.add(r.getAsString()));
      roles.removeIf(((Predicate<String>) r -> r.startsWith("dc-")));
      seen.put(m.get("node").getAsString(), String.join(",", roles));
    }
    return o.getAsJsonArray("unreachable").isEmpty() && seen.equals(new TreeMap<>(expected));
  }

  private HttpResponse<String> get(Node n, String path) throws IOException, InterruptedException {
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + n.managementPort() + path))
        .timeout(Duration.ofSeconds(3)).GET().build();
    return http.send(req, HttpResponse.BodyHandlers.ofString());
  }

  /** {@code n} ports that were free a moment ago (shared by the forked-node ITs). */
  static int[] freePorts(int n) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      int[] ports = new int[n];
      for (int i = 0; i < n; i++) {
        ServerSocket s = new ServerSocket(0);
        sockets.add(s);
        ports[i] = s.getLocalPort();
      }
      return ports;
    } finally {
      for (ServerSocket s : sockets) {
        s.close();
      }
    }
  }
}
