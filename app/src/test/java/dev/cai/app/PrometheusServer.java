package dev.cai.app;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A real Prometheus server for tests (the {@code prometheus} binary, Debian package {@code prometheus}; environment
 * variable {@value #BINARY_ENV} overrides its path) with its config, TSDB and log in a temporary directory, queried
 * through the <a href="https://prometheus.io/docs/prometheus/latest/querying/api/">HTTP API</a>.
 */
final class PrometheusServer implements AutoCloseable {
  /** Environment variable with the path of the prometheus binary. */
  static final String BINARY_ENV = "CAI_PROMETHEUS";
  /** Environment variable that, set to 1, turns a missing prometheus binary into a test failure instead of a skip. */
  static final String REQUIRE_ENV = "CAI_REQUIRE_PROMETHEUS";
  private static final Path DEFAULT_BINARY = Path.of("/usr/bin/prometheus");
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration POLL = Duration.ofMillis(250);
  private static final Pattern TARGET = Pattern.compile("[A-Za-z0-9.\\-]+:[0-9]{1,5}");
  private static final int LOG_TAIL_CHARS = 4000;

  private final Path dir;
  private final Path log;
  private final Process process;
  private final URI base;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private PrometheusServer(Path dir, Path config, int port) throws IOException {
    this.dir = dir;
    this.log = dir.resolve("prometheus.log");
    this.base = URI.create("http://127.0.0.1:" + port);
    Path data = Files.createDirectories(dir.resolve("data"));
    // Prometheus logs to stderr; both streams go to the log file so nothing blocks on a full pipe.
    this.process = new ProcessBuilder(binary().toString(), "--config.file=" + config.toAbsolutePath(),
        "--storage.tsdb.path=" + data, "--web.listen-address=127.0.0.1:" + port)
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  /** The prometheus binary: {@value #BINARY_ENV} if set, else /usr/bin/prometheus. */
  static Path binary() {
    String env = System.getenv(BINARY_ENV);
    return env == null || env.isBlank() ? DEFAULT_BINARY : Path.of(env);
  }

  /** Whether the prometheus binary exists and is executable. */
  static boolean available() {
    return Files.isExecutable(binary());
  }

  /**
   * Skips the calling test (a JUnit assumption) when prometheus is missing, or fails it when {@value #REQUIRE_ENV}=1.
   */
  static void assumeAvailable() {
    if (available()) {
      return;
    }
    String why = "no executable prometheus at " + binary() + " (install the Debian package prometheus or set "
        + BINARY_ENV + " to the binary)";
    if ("1".equals(System.getenv(REQUIRE_ENV))) {
      fail(REQUIRE_ENV + "=1 but " + why);
    }
    assumeTrue(false, why);
  }

  /** Starts Prometheus scraping {@code /metrics} of each {@code host:port} target every second; waits until ready. */
  static PrometheusServer start(List<String> targets) throws IOException, InterruptedException {
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("no scrape targets");
    }
    StringBuilder list = new StringBuilder();
    for (String t : targets) {
      if (!TARGET.matcher(t).matches()) {
        throw new IllegalArgumentException("scrape target must be host:port, got '" + t + "'");
      }
      list.append(list.isEmpty() ? "" : ", ").append('\'').append(t).append('\'');
    }
    String config = """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        scrape_configs:
          - job_name: cai
            metrics_path: /metrics
            static_configs:
              - targets: [%s]
        """.formatted(list);
    Path dir = Files.createTempDirectory("cai-prometheus-");
    Path file = Files.writeString(dir.resolve("prometheus.yml"), config);
    return startIn(dir, file);
  }

  /** Starts Prometheus with the given config file (used as is); waits until ready. */
  static PrometheusServer start(Path config) throws IOException, InterruptedException {
    if (!Files.isRegularFile(config)) {
      throw new IllegalArgumentException("no Prometheus config file " + config);
    }
    return startIn(Files.createTempDirectory("cai-prometheus-"), config);
  }

  private static PrometheusServer startIn(Path dir, Path config) throws IOException, InterruptedException {
    PrometheusServer server;
    try {
      server = new PrometheusServer(dir, config, freePort());
    } catch (IOException | RuntimeException e) {
      deleteTree(dir);
      throw e;
    }
    try {
      server.awaitReady();
      return server;
    } catch (IOException | InterruptedException | RuntimeException | Error e) {
      server.close();
      throw e;
    }
  }

  private void awaitReady() throws IOException, InterruptedException {
    Instant deadline = Instant.now().plus(READY_TIMEOUT);
    String last = "no answer";
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new IllegalStateException("prometheus exited with status " + process.exitValue()
            + " before it was ready; log tail:\n" + logTail());
      }
      try {
        HttpResponse<String> r = get("/-/ready");
        if (r.statusCode() == 200) {
          return;
        }
        last = "HTTP " + r.statusCode() + ": " + r.body();
      } catch (ConnectException e) {
        last = e.toString();
      }
      Thread.sleep(POLL.toMillis());
    }
    throw new IllegalStateException("prometheus at " + base + " not ready after " + READY_TIMEOUT + " (last: " + last
        + "); log tail:\n" + logTail());
  }

  /** The base URL, e.g. {@code http://127.0.0.1:40123}. */
  URI url() {
    return base;
  }

  /** The directory holding the config (when generated), the TSDB and the log; deleted by {@link #close()}. */
  Path directory() {
    return dir;
  }

  /**
   * The {@code data.result} of an instant query (a vector's samples; for a scalar, {@code [time, "value"]}).
   *
   * @throws IllegalStateException with Prometheus's answer when the query does not succeed (e.g. a parse error)
   */
  JsonArray query(String promql) throws IOException, InterruptedException {
    JsonObject data = api("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8), promql);
    return data.getAsJsonArray("result");
  }

  /** The active scrape targets ({@code data.activeTargets} of /api/v1/targets). */
  JsonArray targets() throws IOException, InterruptedException {
    return api("/api/v1/targets?state=active", "targets").getAsJsonArray("activeTargets");
  }

  /**
   * Polls {@code promql} until its result satisfies {@code ok} and returns that result.
   *
   * @throws AssertionError after {@code timeout}, naming the last result, each target's health and last scrape error,
   *     and the tail of the Prometheus log
   */
  JsonArray awaitSeries(String promql, Predicate<JsonArray> ok, Duration timeout)
      throws IOException, InterruptedException {
    Instant deadline = Instant.now().plus(timeout);
    JsonArray last;
    while (true) {
      last = query(promql);
      if (ok.test(last)) {
        return last;
      }
      if (!Instant.now().isBefore(deadline)) {
        break;
      }
      Thread.sleep(POLL.toMillis());
    }
    throw new AssertionError("no acceptable result for " + promql + " within " + timeout + "\nlast result: " + last
        + "\ntargets:\n" + describeTargets() + "\nprometheus log tail:\n" + logTail());
  }

  /** One line per active target: scrape URL, health, last scrape time and last error. */
  String describeTargets() throws IOException, InterruptedException {
    StringBuilder out = new StringBuilder();
    for (JsonElement e : targets()) {
      JsonObject t = e.getAsJsonObject();
      out.append("  ").append(string(t, "scrapeUrl")).append(" health=").append(string(t, "health"))
          .append(" lastScrape=").append(string(t, "lastScrape")).append(" lastError=")
          .append(string(t, "lastError")).append('\n');
    }
    return out.isEmpty() ? "  (none)\n" : out.toString();
  }

  /** The last characters of the Prometheus log (its stdout and stderr). */
  String logTail() {
    try {
      String text = Files.readString(log, StandardCharsets.UTF_8);
      return text.length() <= LOG_TAIL_CHARS ? text : "..." + text.substring(text.length() - LOG_TAIL_CHARS);
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }

  private JsonObject api(String pathAndQuery, String what) throws IOException, InterruptedException {
    HttpResponse<String> r = get(pathAndQuery);
    JsonObject body;
    try {
      body = JsonParser.parseString(r.body()).getAsJsonObject();
    } catch (JsonParseException | IllegalStateException e) {
      throw new IllegalStateException("Prometheus " + what + ": HTTP " + r.statusCode() + ", not JSON: " + r.body(), e);
    }
    if (r.statusCode() != 200 || !"success".equals(string(body, "status"))) {
      throw new IllegalStateException("Prometheus " + what + " failed: HTTP " + r.statusCode() + ": " + r.body());
    }
    return body.getAsJsonObject("data");
  }

  private HttpResponse<String> get(String pathAndQuery) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(base.resolve(pathAndQuery)).timeout(Duration.ofSeconds(10)).GET().build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  /** Stops Prometheus (SIGTERM, then SIGKILL after 10 s) and deletes its directory. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    deleteTree(dir);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + root, e);
    }
  }

  private static String string(JsonObject o, String key) {
    JsonElement e = o.get(key);
    return e == null || e.isJsonNull() ? "" : e.getAsString();
  }
}
