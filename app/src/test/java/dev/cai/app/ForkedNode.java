package dev.cai.app;

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
import java.util.function.BooleanSupplier;

/**
 * A cluster node in its own JVM for the cluster ITs (a {@code cai node} or a test main class): its process, its
 * cluster and management ports and the files its stdout and stderr go to.
 */
record ForkedNode(String name, Process process, int port, int managementPort, Path stdout, Path stderr)
    implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** Starts {@code java -Xmx256m JVM_ARGS -cp (this class path) MAIN ARGS} with {@code env} added, output to {@code dir}. */
  static ForkedNode start(Path dir, String name, int port, int managementPort, Map<String, String> env,
      List<String> jvmArgs, String mainClass, List<String> args) throws IOException {
    Path out = dir.resolve(name + ".out");
    Path err = dir.resolve(name + ".err");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m"));
    cmd.addAll(jvmArgs);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().putAll(env);
    return new ForkedNode(name, pb.start(), port, managementPort, out, err);
  }

  /** Starts {@code cai node --role ROLE --seed SEED --port P --management-port M EXTRA...}. */
  static ForkedNode caiNode(Path dir, String name, String role, int port, int managementPort, String seed,
      Map<String, String> env, String... extra) throws IOException {
    List<String> args = new ArrayList<>(List.of("node", "--role", role, "--seed", seed, "--port", String.valueOf(port),
        "--management-port", String.valueOf(managementPort)));
    args.addAll(List.of(extra));
    return start(dir, name, port, managementPort, env, List.of(), Main.class.getName(), args);
  }

  String address() {
    return "pekko://cai@127.0.0.1:" + port;
  }

  String stdoutText() {
    return read(stdout);
  }

  String stderrText() {
    return read(stderr);
  }

  String logs() {
    return name + " stdout:\n" + stdoutText() + "\n" + name + " stderr:\n" + stderrText();
  }

  HttpResponse<String> get(String path) throws IOException, InterruptedException {
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort + path))
        .timeout(Duration.ofSeconds(3)).GET().build();
    return HTTP.send(req, HttpResponse.BodyHandlers.ofString());
  }

  /** Waits until this node's /cluster/members lists exactly {@code expected} (address → roles), all Up, none unreachable. */
  void awaitMembers(Map<String, String> expected, Duration within, List<ForkedNode> all) throws Exception {
    String[] last = {"no answer"};
    await(within, () -> {
      try {
        HttpResponse<String> r = get("/cluster/members");
        last[0] = r.statusCode() + " " + r.body();
        return r.statusCode() == 200 && membersUp(r.body(), expected);
      } catch (IOException | InterruptedException e) {
        last[0] = e.toString();
        return false;
      }
    }, () -> name + " did not see " + expected + " Up within " + within.toSeconds() + " s; last: " + last[0] + "\n"
        + String.join("\n", all.stream().map(ForkedNode::logs).toList()));
  }

  /** Waits until this node's stdout or stderr contains {@code text}; a failure shows the logs of {@code all}. */
  void awaitLog(String text, Duration within, List<ForkedNode> all) throws Exception {
    await(within, () -> stdoutText().contains(text) || stderrText().contains(text),
        () -> name + " did not log '" + text + "' within " + within.toSeconds() + " s\n"
            + String.join("\n", all.stream().map(ForkedNode::logs).toList()));
  }

  private void await(Duration within, BooleanSupplier done, java.util.function.Supplier<String> failure) throws Exception {
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      if (done.getAsBoolean()) {
        return;
      }
      if (!process.isAlive()) {
        fail(name + " exited (" + process.exitValue() + ")\n" + failure.get());
      }
      Thread.sleep(250);
    }
    fail(failure.get());
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
      roles.removeIf(r -> r.startsWith("dc-"));
      seen.put(m.get("node").getAsString(), String.join(",", roles));
    }
    return o.getAsJsonArray("unreachable").isEmpty() && seen.equals(new TreeMap<>(expected));
  }

  private static String read(Path p) {
    try {
      return Files.exists(p) ? Files.readString(p) : "";
    } catch (IOException e) {
      return e.toString();
    }
  }

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

  /** Kills the JVM (the ITs assert on what it logged before). */
  @Override
  public void close() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }
}
