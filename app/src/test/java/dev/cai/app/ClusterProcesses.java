package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.UncheckedIOException;
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
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Forked {@code cai} JVMs of a multi-node test ({@code cai node} members and commands that join them) on 127.0.0.1,
 * each with its stdout and stderr in files; closing kills whatever still runs.
 */
final class ClusterProcesses implements AutoCloseable {
  /**
   * Longest wait for each cluster change (formation; downing after kill -9: failure detection + stable-after 5s; leave).
   * About 5-20 s on an idle 2-core machine; generous, because JVM start-up under a loaded CPU takes much longer.
   */
  static final Duration STEP = Duration.ofSeconds(90);

  private final Path dir;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final List<Proc> procs = new ArrayList<>();

  /** One forked JVM: its name, process, cluster and management ports (0 when it has none) and its output files. */
  record Proc(String name, Process process, int port, int managementPort, Path stdout, Path stderr) {
    String address() {
      return "pekko://cai@127.0.0.1:" + port;
    }

    String logs() {
      try {
        return name + " stdout:\n" + Files.readString(stdout) + "\n" + name + " stderr:\n" + Files.readString(stderr);
      } catch (IOException e) {
        return name + ": " + e;
      }
    }

    String stderrText() {
      return read(stderr);
    }

    String stdoutText() {
      return read(stdout);
    }

    /** The lines printed on stdout so far. */
    List<String> lines() {
      return read(stdout).lines().toList();
    }

    private static String read(Path file) {
      try {
        return Files.exists(file) ? Files.readString(file) : "";
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /**
     * The policy router's totals a driver logs when it stops: groups 1 answered, 2 by worker ({@code ADDRESS=N, ...}),
     * 3 retried, 4 failed.
     */
    Matcher workSummary() {
      Matcher m = WORK_SUMMARY.matcher(stderrText());
      assertTrue(m.find(), "no router summary in\n" + logs());
      return m;
    }
  }

  private static final Pattern WORK_SUMMARY = Pattern.compile(
      "policy work: (\\d+) requests answered \\(by worker: \\{([^}]*)\\}\\), (\\d+) retried, (\\d+) failed");

  ClusterProcesses(Path dir) {
    this.dir = dir;
  }

  /** Starts {@code cai node --role ROLE --seed SEEDS --port P --management-port M ARGS...} as {@code name}. */
  Proc node(String name, String role, int port, int managementPort, String seeds, List<String> jvmArgs, String... args)
      throws IOException {
    return node(name, role, port, managementPort, seeds, Map.of(), jvmArgs, args);
  }

  /** {@link #node(String, String, int, int, String, List, String...)} with {@code env} added to its environment. */
  Proc node(String name, String role, int port, int managementPort, String seeds, Map<String, String> env,
      List<String> jvmArgs, String... args) throws IOException {
    List<String> cli = new ArrayList<>(List.of("node", "--role", role, "--seed", seeds, "--port", String.valueOf(port),
        "--management-port", String.valueOf(managementPort)));
    cli.addAll(List.of(args));
    return java(name, port, managementPort, env, jvmArgs, Main.class.getName(), cli);
  }

  /** Starts {@code cai ARGS...} as {@code name} (e.g. a driver joining the cluster). */
  Proc command(String name, List<String> jvmArgs, String... args) throws IOException {
    return java(name, 0, 0, Map.of(), jvmArgs, Main.class.getName(), List.of(args));
  }

  /** Starts {@code java JVM_ARGS -cp (the test class path) MAIN ARGS} as {@code name}, with {@code env} added. */
  Proc java(String name, int port, int managementPort, Map<String, String> env, List<String> jvmArgs, String mainClass,
      List<String> args) throws IOException {
    Path out = dir.resolve(name + ".out");
    Path err = dir.resolve(name + ".err");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx512m", "-Dai.djl.offline=true", "-Dcai.monitor.port=0",
        "-Dlogback.configurationFile=logback.xml")); // cai's own logging (INFO for dev.cai), not the tests' quiet one
    cmd.addAll(jvmArgs);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().putAll(env);
    Process p = pb.start();
    Proc proc = new Proc(name, p, port, managementPort, out, err);
    procs.add(proc);
    return proc;
  }

  /** Everything every process printed so far, for failure messages. */
  String allLogs() {
    return String.join("\n", procs.stream().map(Proc::logs).toList());
  }

  /** Waits until {@code n}'s /cluster/members lists exactly {@code expected} (address → roles), all Up, none unreachable. */
  void awaitMembers(Proc n, Map<String, String> expected) throws Exception {
    long deadline = System.nanoTime() + STEP.toNanos();
    String last = "no answer";
    while (System.nanoTime() < deadline) {
      if (!n.process().isAlive()) {
        fail(n.name() + " exited (" + n.process().exitValue() + ")\n" + n.logs());
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
    fail(n.name() + " did not see " + expected + " Up within " + STEP.toSeconds() + " s; last: " + last + "\n" + allLogs());
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

  /** Waits until {@code p}'s stdout or stderr contains {@code text}. */
  void awaitLog(Proc p, String text) throws InterruptedException {
    await(List.of(p), "a log line with '" + text + "'",
        n -> n.stderrText().contains(text) || n.stdoutText().contains(text) ? Optional.of(true) : Optional.empty());
  }

  /** Waits for a stdout line of {@code p} that matches {@code pattern} whole, and returns its match. */
  Matcher awaitLine(Proc p, Pattern pattern) throws InterruptedException {
    return await(List.of(p), "a stdout line matching " + pattern, n -> matchingLine(n, pattern));
  }

  /** Waits until one of {@code procs} prints a stdout line that matches {@code pattern} whole, and returns that process. */
  Proc awaitAny(List<Proc> procs, Pattern pattern) throws InterruptedException {
    return await(procs, "a stdout line matching " + pattern, n -> matchingLine(n, pattern).map(m -> n));
  }

  private static Optional<Matcher> matchingLine(Proc p, Pattern pattern) {
    return p.lines().stream().map(pattern::matcher).filter(Matcher::matches).findFirst();
  }

  /**
   * Polls {@code probe} on each of {@code procs} until it answers for one of them, and returns the answer; fails, naming
   * {@code what} and with every process's logs, when one of them exits first or when {@link #STEP} passes.
   */
  <T> T await(List<Proc> procs, String what, Function<Proc, Optional<T>> probe) throws InterruptedException {
    long deadline = System.nanoTime() + STEP.toNanos();
    while (System.nanoTime() < deadline) {
      for (Proc p : procs) {
        boolean alive = p.process().isAlive(); // read before the probe: what a process printed before exiting counts
        Optional<T> found = probe.apply(p);
        if (found.isPresent()) {
          return found.get();
        }
        if (!alive) {
          fail(p.name() + " exited (" + p.process().exitValue() + ") before " + what + "\n" + allLogs());
        }
      }
      Thread.sleep(100);
    }
    return fail("no " + what + " from " + procs.stream().map(Proc::name).toList() + " within " + STEP.toSeconds()
        + " s\n" + allLogs());
  }

  /** GET of a management endpoint of {@code n}. */
  HttpResponse<String> get(Proc n, String path) throws IOException, InterruptedException {
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + n.managementPort() + path))
        .timeout(Duration.ofSeconds(3)).GET().build();
    return http.send(req, HttpResponse.BodyHandlers.ofString());
  }

  @Override
  public void close() throws InterruptedException {
    for (Proc p : procs) {
      p.process().destroyForcibly();
      p.process().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
