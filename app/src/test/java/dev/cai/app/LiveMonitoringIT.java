package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The monitor of a running node (a separate JVM generating SL data on a tiny model, fed prompts continuously). */
class LiveMonitoringIT {
  @TempDir static Path dir;
  private static MonitoredNode node;
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void startNode() throws Exception {
    node = MonitoredNode.start(dir);
  }

  @AfterAll
  static void stopNode() throws Exception {
    if (node != null) {
      node.close();
    }
  }

  static String get(String url) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new AssertionError("GET " + url + " -> " + r.statusCode() + ": " + r.body());
    }
    return r.body();
  }

  /** The value of one sample line of a Prometheus text exposition, or -1 when absent. */
  static double sample(String exposition, String series) {
    Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(exposition);
    return m.find() ? Double.parseDouble(m.group(1)) : -1;
  }

  @Test
  void shouldDeliverPerStageThroughputToARealPrometheus() throws Exception {
    PrometheusServer.assumeAvailable();
    try (PrometheusServer prometheus = PrometheusServer.start(List.of(node.target()))) {
      com.google.gson.JsonArray rates = prometheus.awaitSeries(
          "sum by (graph, stage) (rate(cai_stage_elements_total{job=\"cai\"}[10s])) > 0",
          r -> stages(r).containsAll(List.of("sl/read", "sl/respond", "sl/critique", "sl/revise", "sl/commit")),
          Duration.ofSeconds(90));
      assertTrue(stages(rates).contains("sl/prompt"), rates.toString());
      // the tokens/s and latency panels of the Grafana dashboard have data too
      prometheus.awaitSeries("sum by (stage) (rate(cai_stage_tokens_total{graph=\"sl\"}[10s])) > 0",
          r -> r.size() >= 3, Duration.ofSeconds(30));
      prometheus.awaitSeries("histogram_quantile(0.95, sum by (le, stage) (rate(cai_stage_latency_seconds_bucket"
          + "{graph=\"sl\"}[10s])))", r -> r.size() >= 5, Duration.ofSeconds(30));
      // every series the committed Grafana dashboard queries that an SL node serves is in Prometheus
      for (String name : GrafanaDashboard.baseNames(GrafanaDashboard.metricNames(GrafanaDashboardTest.DASHBOARD))) {
        if (name.startsWith("cai_stage_") || name.startsWith("cai_model_") || name.startsWith("cai_store_")
            || name.equals("cai_process_resident_memory_bytes") || name.equals("jvm_memory_used_bytes")) {
          assertTrue(prometheus.query("{__name__=~\"" + name + "(_bucket|_count|_sum|_max|_total)?\"}").size() > 0,
              name + " is charted by the dashboard but not scraped from the node");
        }
      }
    }
  }

  /** {@code graph/stage} of each series of a Prometheus result. */
  private static List<String> stages(com.google.gson.JsonArray result) {
    List<String> out = new java.util.ArrayList<>();
    result.forEach(e -> {
      JsonObject metric = e.getAsJsonObject().getAsJsonObject("metric");
      out.add(metric.get("graph").getAsString() + "/" + metric.get("stage").getAsString());
    });
    return out;
  }

  @Test
  void shouldShowTheRunningNodeLiveInHeadlessChromium() throws Exception {
    Chromium.assumeAvailable();
    try (Chromium chromium = Chromium.launch()) {
      chromium.navigate(node.url() + "/");
      Duration wait = Duration.ofSeconds(60);
      chromium.waitFor("window.caiDashboard && caiDashboard.events >= 4 && caiDashboard.chartPoints > 0", wait);
      chromium.waitFor("caiDashboard.samplesShown > 0", wait);
      assertEquals("sl-generate", chromium.evaluate("caiDashboard.last.phase"));
      @SuppressWarnings("unchecked")
      List<Object> boxes = (List<Object>) chromium.evaluate(
          "[...document.querySelectorAll('#pipeline .stage')].map(b => b.dataset.key)");
      assertEquals(List.of("sl/read", "sl/prompt", "sl/respond", "sl/critique", "sl/revise", "sl/commit"), boxes,
          "the pipeline diagram shows the node's SL stages in order");
      double before = ((Number) chromium.evaluate("caiDashboard.last.stages.find(s => s.stage === 'critique').elements"))
          .doubleValue();
      chromium.waitFor("caiDashboard.last.stages.find(s => s.stage === 'critique').elements > " + before, wait);
      assertTrue((Boolean) chromium.evaluate("[...document.querySelectorAll('#feed .sample')].length > 0"),
          "the sample feed shows the node's examples");
      assertEquals(List.of(), chromium.errors(), "no errors in the page");
      byte[] png = chromium.screenshot();
      Path shot = Path.of("target", "dashboard-live.png");
      Files.createDirectories(shot.getParent());
      Files.write(shot, png);
      assertTrue(png.length > 20_000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', "a PNG screenshot: " + shot);
    }
  }

  @Test
  void shouldServeMovingStageSeriesSamplesAndAMetricsFile() throws Exception {
    String critiques = "cai_stage_elements_total{graph=\"sl\",stage=\"critique\"}";
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    double first = -1;
    double later = -1;
    while (System.nanoTime() < deadline && !(first > 0 && later > first)) {
      double v = sample(get(node.url() + "/metrics"), critiques);
      if (first <= 0) {
        first = v;
      } else {
        later = v;
      }
      Thread.sleep(1000);
    }
    assertTrue(first > 0 && later > first, "critiques should keep coming: " + first + " then " + later + "\n"
        + node.stderrTail(30));
    String metrics = get(node.url() + "/metrics");
    for (String series : List.of("cai_stage_tokens_total{graph=\"sl\",stage=\"revise\"}",
        "cai_stage_capacity{graph=\"sl\",stage=\"prompt\"}", "cai_model_batch_size_count{model=\"policy\"}",
        "cai_store_commit_records_total{store=\"sl\"}")) {
      assertTrue(sample(metrics, series) > 0, series + " in\n" + metrics);
    }
    assertTrue(sample(metrics, "cai_process_resident_memory_bytes") > 50e6, "resident memory");
    assertTrue(metrics.contains("jvm_memory_used_bytes{"), "JVM memory");

    JsonObject snapshot = JsonParser.parseString(get(node.url() + "/api/snapshot")).getAsJsonObject();
    assertTrue(snapshot.get("phase").getAsString().equals("sl-generate"), snapshot.toString());
    assertTrue(snapshot.getAsJsonArray("samples").size() > 0, "committed examples on the feed: " + snapshot);

    Path journal = node.runDir().resolve("metrics.jsonl");
    long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!Files.exists(journal) && System.nanoTime() < until) {
      Thread.sleep(500);
    }
    List<String> lines = Files.readAllLines(journal);
    JsonObject last = JsonParser.parseString(lines.get(lines.size() - 1)).getAsJsonObject();
    assertTrue(last.get("phase").getAsString().equals("sl-generate") && last.getAsJsonArray("stages").size() >= 6,
        last.toString());
  }
}
