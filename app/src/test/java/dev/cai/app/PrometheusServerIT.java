package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link PrometheusServer} against a real Prometheus scraping a JDK HTTP server that serves a cai-style counter, and
 * the committed {@code deploy/prometheus/prometheus.yml} and Grafana dashboard queries checked by that Prometheus.
 * Skipped without a prometheus binary unless {@code CAI_REQUIRE_PROMETHEUS=1}.
 */
class PrometheusServerIT {
  private static final Path CONFIG = GrafanaDashboardTest.ROOT.resolve("deploy/prometheus/prometheus.yml");
  /** Elements the fake stage finishes between two scrapes. */
  private static final long STEP = 7;
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private static HttpServer exporter;
  private static final AtomicLong SCRAPES = new AtomicLong();
  private static String live;
  private static String dead;
  private static PrometheusServer prometheus;

  @BeforeAll
  static void start() throws Exception {
    PrometheusServer.assumeAvailable();
    exporter = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    exporter.createContext("/metrics", exchange -> {
      long elements = SCRAPES.incrementAndGet() * STEP;
      byte[] body = """
          # HELP cai_stage_elements_total Elements that finished the stage
          # TYPE cai_stage_elements_total counter
          cai_stage_elements_total{graph="sl",stage="critique"} %d.0
          """.formatted(elements).getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    exporter.start();
    live = "127.0.0.1:" + exporter.getAddress().getPort();
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      dead = "127.0.0.1:" + s.getLocalPort(); // closed again below: nothing listens there
    }
    prometheus = PrometheusServer.start(List.of(live, dead));
  }

  @AfterAll
  static void stop() {
    if (prometheus != null) {
      prometheus.close();
    }
    if (exporter != null) {
      exporter.stop(0);
    }
  }

  @Test
  void shouldScrapeAGrowingCounterAndComputeItsRatePerStage() throws Exception {
    JsonArray result = prometheus.awaitSeries("rate(cai_stage_elements_total[5s]) > 0", r -> !r.isEmpty(), TIMEOUT);
    assertEquals(1, result.size(), result::toString);
    JsonObject sample = result.get(0).getAsJsonObject();
    JsonObject labels = sample.getAsJsonObject("metric");
    assertEquals("sl", labels.get("graph").getAsString());
    assertEquals("critique", labels.get("stage").getAsString());
    assertEquals("cai", labels.get("job").getAsString());
    assertEquals(live, labels.get("instance").getAsString());
    double perSecond = Double.parseDouble(sample.getAsJsonArray("value").get(1).getAsString());
    // STEP elements per 1 s scrape; slack for late scrapes on a loaded machine and rate's extrapolation
    assertTrue(perSecond > STEP * 0.3 && perSecond < STEP * 2, "rate " + perSecond + "/s, expected about " + STEP);
    assertTrue(SCRAPES.get() >= 2, "scrapes " + SCRAPES.get());
  }

  @Test
  void shouldFailAQueryWithPrometheusErrorBody() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> prometheus.query("rate(cai_stage_elements_total[5s]"));
    assertTrue(e.getMessage().contains("HTTP 400") && e.getMessage().contains("bad_data")
        && e.getMessage().contains("parse error"), e.getMessage());
  }

  @Test
  void shouldNameTheDownTargetAndItsErrorWhenASeriesNeverArrives() throws Exception {
    String up = "up{instance=\"" + dead + "\"}";
    prometheus.awaitSeries(up + " == 0", r -> !r.isEmpty(), TIMEOUT); // scraped and failed at least once
    AssertionError e = assertThrows(AssertionError.class,
        () -> prometheus.awaitSeries(up + " == 1", r -> !r.isEmpty(), Duration.ofSeconds(2)));
    String message = e.getMessage();
    assertTrue(message.contains("no acceptable result for " + up + " == 1"), message);
    assertTrue(message.contains("last result: []"), message);
    assertTrue(message.contains("http://" + dead + "/metrics health=down"), message);
    assertTrue(message.contains("connection refused"), message);
    assertTrue(message.contains("http://" + live + "/metrics health=up"), message);
    assertTrue(message.contains("prometheus log tail:") && message.contains("Server is ready"), message);
  }

  @Test
  void shouldListBothTargets() throws Exception {
    List<String> urls = new ArrayList<>();
    prometheus.targets().forEach(t -> urls.add(t.getAsJsonObject().get("scrapeUrl").getAsString()));
    assertEquals(2, urls.size(), urls::toString);
    assertEquals(Set.of("http://" + dead + "/metrics", "http://" + live + "/metrics"), Set.copyOf(urls));
  }

  @Test
  void shouldRefuseATargetThatIsNotHostAndPort() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PrometheusServer.start(List.of("http://127.0.0.1:9464/metrics")));
    assertEquals("scrape target must be host:port, got 'http://127.0.0.1:9464/metrics'", e.getMessage());
  }

  @Test
  void shouldAcceptTheCommittedScrapeConfig() throws Exception {
    Path promtool = PrometheusServer.binary().resolveSibling("promtool");
    if (Files.isExecutable(promtool)) {
      Process p = new ProcessBuilder(promtool.toString(), "check", "config", CONFIG.toString())
          .redirectErrorStream(true).start();
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "promtool check config did not finish");
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, p.exitValue(), out);
      assertTrue(out.contains("SUCCESS"), out);
    } else {
      try (PrometheusServer committed = PrometheusServer.start(CONFIG)) {
        assertTrue(committed.query("vector(1)").size() == 1, "prometheus with " + CONFIG + " does not answer");
      }
    }
  }

  @Test
  void shouldScrapeACaiEndpointWithTheCommittedConfigWhenOnlyTheTargetChanges(@TempDir Path dir) throws Exception {
    String yaml = Files.readString(CONFIG);
    Matcher target = Pattern.compile("(?m)^(\\s*- targets: \\[)'127\\.0\\.0\\.1:9464'(\\])").matcher(yaml);
    assertTrue(target.find(), CONFIG + " has no uncommented target 127.0.0.1:9464");
    String moved = target.replaceFirst("$1'" + live + "'$2");
    assertFalse(Pattern.compile("(?m)^\\s*[^#\\s].*127\\.0\\.0\\.1:9464").matcher(moved).find(),
        CONFIG + " has a second uncommented 127.0.0.1:9464");
    Path copy = Files.writeString(dir.resolve("prometheus.yml"), moved);
    try (PrometheusServer committed = PrometheusServer.start(copy)) {
      JsonArray up = committed.awaitSeries("up{job=\"cai\"} == 1", r -> r.size() == 1, TIMEOUT);
      assertEquals(live, up.get(0).getAsJsonObject().getAsJsonObject("metric").get("instance").getAsString());
      JsonArray counter = committed.awaitSeries("cai_stage_elements_total{job=\"cai\",graph=\"sl\",stage=\"critique\"}",
          r -> r.size() == 1, TIMEOUT);
      assertEquals(live, counter.get(0).getAsJsonObject().getAsJsonObject("metric").get("instance").getAsString());
    }
  }

  @Test
  void shouldRunEveryDashboardQueryAndChartTheStageThroughput() throws Exception {
    List<String> failures = new ArrayList<>();
    String throughput = null;
    for (GrafanaDashboard.Query q : GrafanaDashboard.queries(GrafanaDashboard.read(GrafanaDashboardTest.DASHBOARD))) {
      String expr = q.expr().replace("$graph", ".*").replace("$stage", ".*").replace("$__rate_interval", "1m");
      try {
        prometheus.query(expr);
      } catch (IllegalStateException e) {
        failures.add(q.where() + ": " + e.getMessage());
      }
      if (q.where().startsWith("Elements/s per stage/")) {
        throughput = expr;
      }
    }
    assertEquals(List.of(), failures);
    assertTrue(throughput != null, "no Elements/s per stage panel");
    JsonArray shown = prometheus.awaitSeries(throughput, r -> !r.isEmpty(), TIMEOUT);
    JsonObject labels = shown.get(0).getAsJsonObject().getAsJsonObject("metric");
    assertEquals("sl/critique", labels.get("graph").getAsString() + "/" + labels.get("stage").getAsString());
  }
}
