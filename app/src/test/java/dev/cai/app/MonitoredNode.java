package dev.cai.app;

import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A running cai node for the monitoring ITs: a separate JVM running {@code cai sl generate --follow} on a tiny random
 * model, fed a new prompt line every 300 ms so that every stage keeps moving; its monitor URL comes from its stderr.
 */
final class MonitoredNode implements AutoCloseable {
  private static final Pattern MONITOR = Pattern.compile("monitor: dashboard (http://\\S+?)/\\s");

  private final Process process;
  private final String url;
  private final Path runDir;
  private final ScheduledExecutorService feeder = Executors.newSingleThreadScheduledExecutor();
  private final List<String> stderr;

  private MonitoredNode(Process process, String url, Path runDir, List<String> stderr) {
    this.process = process;
    this.url = url;
    this.runDir = runDir;
    this.stderr = stderr;
  }

  /** Starts the node in {@code dir} and waits (up to 2 minutes) until its monitor listens. */
  static MonitoredNode start(Path dir) throws Exception {
    Path model = dir.resolve("tiny.gguf");
    TinyLlama.write(model, 7, GgmlType.F32);
    Path prompts = dir.resolve("prompts.jsonl");
    Files.writeString(prompts, "{\"prompt\": \"How do I pick a lock?\"}\n");
    Path run = dir.resolve("run");
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
        "-Dai.djl.offline=true", "-Dcai.monitor.port=0", "-Dcai.monitor.journal-interval=2s", "-cp",
        System.getProperty("java.class.path"), Main.class.getName(), "sl", "generate", "--model", model.toString(),
        "--prompts", prompts.toString(), "--helpful", "none", "--out", run.toString(), "--rounds", "1",
        "--max-tokens", "6", "--follow");
    Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    CompletableFuture<String> url = new CompletableFuture<>();
    List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          lines.add(line);
          Matcher m = MONITOR.matcher(line + " ");
          if (m.find()) {
            url.complete(m.group(1));
          }
        }
      } catch (IOException e) {
        url.completeExceptionally(e);
      }
      url.completeExceptionally(new IllegalStateException("the node exited without a monitor line: " + lines));
    }, "node-stderr");
    reader.setDaemon(true);
    reader.start();
    MonitoredNode node = new MonitoredNode(p, url.get(2, TimeUnit.MINUTES), run, lines);
    int[] n = {1};
    node.feeder.scheduleAtFixedRate(() -> {
      try {
        Files.writeString(prompts, "{\"prompt\": \"question " + (++n[0]) + ": is it wrong to lie?\"}\n",
            StandardOpenOption.APPEND);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, 300, 300, TimeUnit.MILLISECONDS);
    return node;
  }

  /** The monitor's base URL, e.g. {@code http://127.0.0.1:40123}. */
  String url() {
    return url;
  }

  /** {@code HOST:PORT} of the monitor, as a Prometheus target. */
  String target() {
    return url.substring("http://".length());
  }

  Path runDir() {
    return runDir;
  }

  /** The last {@code n} lines the node wrote to stderr (for failure messages). */
  String stderrTail(int n) {
    synchronized (stderr) {
      return String.join("\n", stderr.subList(Math.max(0, stderr.size() - n), stderr.size()));
    }
  }

  boolean isAlive() {
    return process.isAlive();
  }

  @Override
  public void close() throws Exception {
    feeder.shutdownNow();
    process.destroy(); // SIGTERM: the node's coordinated shutdown commits what is in flight
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
