package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The committed Grafana dashboard ({@code deploy/grafana/cai-dashboard.json}) against the monitor contract
 * (/work/contract/monitor-contract.md, issue #7), and {@link GrafanaDashboard}'s PromQL reading on golden cases.
 */
class GrafanaDashboardTest {
  static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  static final Path DASHBOARD = ROOT.resolve("deploy/grafana/cai-dashboard.json");

  private static final Set<String> COUNTERS = Set.of("cai_stage_elements_total", "cai_stage_tokens_total",
      "cai_learner_updates_total", "cai_train_steps_total", "cai_store_commit_bytes_total",
      "cai_store_commit_records_total", "cai_work_requests_total");
  private static final Set<String> GAUGES = Set.of("cai_stage_in_flight", "cai_stage_capacity", "cai_stage_buffer_fill",
      "cai_model_queue_length", "cai_learner_policy_version", "cai_learner_score", "cai_learner_kl",
      "cai_learner_kl_coef", "cai_learner_approx_kl", "cai_learner_clip_fraction", "cai_learner_entropy",
      "cai_learner_policy_loss", "cai_learner_value_loss", "cai_learner_staleness", "cai_train_loss",
      "jvm_memory_used_bytes", "jvm_memory_max_bytes", "jvm_buffer_memory_used_bytes", "jvm_threads_live_threads",
      "process_cpu_usage", "system_cpu_usage", "cai_process_resident_memory_bytes", "cai_work_workers", "cai_work_in_flight", "cai_work_waiting");
  /** Timers and distribution summaries published with a histogram: _bucket, _count, _sum, _max. */
  private static final Set<String> HISTOGRAMS = Set.of("cai_stage_latency_seconds", "cai_model_batch_size",
      "cai_model_queue_wait_seconds", "cai_model_forward_seconds", "cai_learner_update_seconds",
      "cai_store_commit_seconds", "cai_work_latency_seconds");
  /** Timers without a histogram: _count, _sum, _max. */
  private static final Set<String> SUMMARIES = Set.of("cai_train_step_seconds", "jvm_gc_pause_seconds");

  /** Every series name a cai node serves at /metrics according to the contract. */
  static Set<String> servedNames() {
    Set<String> served = new TreeSet<>(COUNTERS);
    served.addAll(GAUGES);
    for (String h : HISTOGRAMS) {
      Stream.of("_bucket", "_count", "_sum", "_max").forEach(s -> served.add(h + s));
    }
    for (String s : SUMMARIES) {
      Stream.of("_count", "_sum", "_max").forEach(x -> served.add(s + x));
    }
    return served;
  }

  /** The contract's metric families (counters keep {@code _total}, histograms and summaries lose their suffixes). */
  static Set<String> contractFamilies() {
    Set<String> all = new TreeSet<>(COUNTERS);
    all.addAll(GAUGES);
    all.addAll(HISTOGRAMS);
    all.addAll(SUMMARIES);
    return all;
  }

  @Test
  void shouldQueryOnlySeriesTheContractServes() {
    Set<String> used = GrafanaDashboard.metricNames(DASHBOARD);
    Set<String> unknown = new TreeSet<>(used);
    unknown.removeAll(servedNames());
    assertTrue(unknown.isEmpty(), "dashboard queries series no cai node serves: " + unknown);
  }

  @Test
  void shouldChartEveryMetricFamilyOfTheContract() {
    Set<String> missing = new TreeSet<>(contractFamilies());
    missing.removeAll(GrafanaDashboard.baseNames(GrafanaDashboard.metricNames(DASHBOARD)));
    assertEquals(Set.of(), missing, "contract metrics the dashboard does not chart");
  }

  @Test
  void shouldRateEveryCounterAndHistogramSeriesAndQuantileOnlyBuckets() {
    JsonObject dashboard = GrafanaDashboard.read(DASHBOARD);
    List<String> wrong = new ArrayList<>();
    for (GrafanaDashboard.Query q : GrafanaDashboard.queries(dashboard)) {
      if (q.where().startsWith("$")) {
        continue; // label_values only lists labels
      }
      for (GrafanaDashboard.Selector s : GrafanaDashboard.selectors(q.expr())) {
        boolean cumulative = Stream.of("_total", "_bucket", "_count", "_sum").anyMatch(s.metric()::endsWith);
        if (cumulative != s.function().equals("rate")) {
          wrong.add(q.where() + ": " + s.metric() + " inside " + s.function() + "()");
        }
      }
      if (q.expr().contains("histogram_quantile") && !q.expr().matches("(?s).*by \\([^)]*\\ble\\b[^)]*\\).*")) {
        wrong.add(q.where() + ": histogram_quantile without le in the grouping: " + q.expr());
      }
    }
    assertEquals(List.of(), wrong);
  }

  @Test
  void shouldReferToThePrometheusDatasourceVariableFromEveryPanelAndTarget() {
    JsonObject dashboard = GrafanaDashboard.read(DASHBOARD);
    assertTrue(dashboard.get("schemaVersion").getAsInt() >= 36, "schemaVersion " + dashboard.get("schemaVersion"));
    Map<String, JsonObject> variables = GrafanaDashboard.variables(dashboard).stream()
        .collect(Collectors.toMap(v -> v.get("name").getAsString(), v -> v));
    assertEquals("datasource", variables.get("DS_PROMETHEUS").get("type").getAsString());
    assertEquals("prometheus", variables.get("DS_PROMETHEUS").get("query").getAsString());
    for (String name : List.of("graph", "stage")) {
      JsonObject v = variables.get(name);
      assertEquals("query", v.get("type").getAsString(), name);
      String query = v.getAsJsonObject("query").get("query").getAsString();
      assertTrue(query.startsWith("label_values(") && query.endsWith(", " + name + ")"), name + ": " + query);
      assertDatasource(v.get("datasource"), "$" + name);
    }

    List<JsonObject> charts = GrafanaDashboard.panels(dashboard).stream()
        .filter(p -> !p.get("type").getAsString().equals("row")).toList();
    assertTrue(charts.size() >= 20, "panels: " + charts.size());
    Set<Integer> ids = new HashSet<>();
    for (JsonObject panel : GrafanaDashboard.panels(dashboard)) {
      assertTrue(ids.add(panel.get("id").getAsInt()), "duplicate panel id " + panel.get("id"));
    }
    for (JsonObject panel : charts) {
      String title = panel.get("title").getAsString();
      assertDatasource(panel.get("datasource"), title);
      Set<String> refIds = new HashSet<>();
      assertFalse(panel.getAsJsonArray("targets").isEmpty(), title + " has no query");
      for (JsonElement t : panel.getAsJsonArray("targets")) {
        assertDatasource(t.getAsJsonObject().get("datasource"), title);
        assertTrue(refIds.add(t.getAsJsonObject().get("refId").getAsString()), title + ": duplicate refId");
        assertFalse(t.getAsJsonObject().get("expr").getAsString().isBlank(), title + ": empty expr");
      }
    }
  }

  @Test
  void shouldLayOutPanelsWithoutOverlapOnTheGrid() {
    List<JsonObject> panels = GrafanaDashboard.panels(GrafanaDashboard.read(DASHBOARD));
    for (int a = 0; a < panels.size(); a++) {
      int[] ra = box(panels.get(a));
      assertTrue(ra[0] >= 0 && ra[0] + ra[2] <= 24, panels.get(a).get("title") + " leaves the 24-column grid");
      for (int b = a + 1; b < panels.size(); b++) {
        int[] rb = box(panels.get(b));
        boolean overlap = ra[0] < rb[0] + rb[2] && rb[0] < ra[0] + ra[2] && ra[1] < rb[1] + rb[3] && rb[1] < ra[1] + ra[3];
        assertFalse(overlap, panels.get(a).get("title") + " overlaps " + panels.get(b).get("title"));
      }
    }
  }

  @Test
  void shouldChartTheStageThroughputQueryOfTheIssue() {
    List<String> exprs = GrafanaDashboard.queries(GrafanaDashboard.read(DASHBOARD)).stream()
        .map(GrafanaDashboard.Query::expr).toList();
    assertTrue(exprs.contains(
        "sum by (graph, stage) (rate(cai_stage_elements_total{graph=~\"$graph\",stage=~\"$stage\"}[1m]))"), exprs::toString);
  }

  static Stream<Arguments> goldenExpressions() {
    return Stream.of(
        Arguments.of("sum by (graph, stage) (rate(cai_stage_elements_total{graph=~\"$graph\",stage=~\"$stage\"}[1m]))",
            Set.of("cai_stage_elements_total")),
        Arguments.of("histogram_quantile(0.95, sum by (le, model) (rate(cai_model_forward_seconds_bucket[$__rate_interval])))",
            Set.of("cai_model_forward_seconds_bucket")),
        Arguments.of("sum(rate(a_sum[5m])) by (stage) / on (stage) group_left (model) sum(rate(a_count[5m])) by (stage)",
            Set.of("a_sum", "a_count")),
        Arguments.of("topk(5, max without (instance) (jvm_memory_used_bytes{area=\"heap\", id=~\"G1 (Eden|Old) Space\"}))",
            Set.of("jvm_memory_used_bytes")),
        Arguments.of("count_values(\"version\", cai_learner_policy_version) > bool 0 and on() up == 1 or vector(0)",
            Set.of("cai_learner_policy_version", "up")),
        Arguments.of("max_over_time(rate(x:rate1m[5m] offset 1h)[30m:1m]) unless sum(y @ start()) * 1e3 - 0x1F",
            Set.of("x:rate1m", "y")),
        Arguments.of("{__name__=\"cai_train_loss\", stage=\"pm-train\"} + ignoring(le) rate( sum [1m] ) # sum is a name",
            Set.of("cai_train_loss", "sum")),
        Arguments.of("label_replace(rss, \"dst\", \"$1\", \"src\", \"(by|on)\") / ${DS_PROMETHEUS:raw} + Inf",
            Set.of("rss")),
        Arguments.of("sum by (stage)(rate(cai_train_steps_total[1m])) / count by (instance) (by_metric)",
            Set.of("cai_train_steps_total", "by_metric")));
  }

  @ParameterizedTest
  @MethodSource("goldenExpressions")
  void shouldFindTheMetricNamesOfAnExpression(String promql, Set<String> expected) {
    assertEquals(new TreeSet<>(expected), GrafanaDashboard.metricNames(promql));
  }

  @Test
  void shouldTellTheInnermostFunctionAroundEachSelector() {
    assertEquals(List.of(new GrafanaDashboard.Selector("m_bucket", "rate"), new GrafanaDashboard.Selector("g", "max"),
            new GrafanaDashboard.Selector("h", "")),
        GrafanaDashboard.selectors("histogram_quantile(0.5, sum by (le) (rate(m_bucket[1m]))) + max by (a) (g) - (h)"));
  }

  @Test
  void shouldMapHistogramSeriesToTheirFamily() {
    assertEquals(new TreeSet<>(Set.of("cai_stage_latency_seconds", "jvm_gc_pause_seconds", "cai_stage_elements_total",
            "jvm_memory_max_bytes")),
        GrafanaDashboard.baseNames(List.of("cai_stage_latency_seconds_bucket", "cai_stage_latency_seconds_count",
            "jvm_gc_pause_seconds_max", "jvm_gc_pause_seconds_sum", "cai_stage_elements_total", "jvm_memory_max_bytes")));
  }

  @Test
  void shouldReadPanelsInsideCollapsedRowsAndVariableQueries(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("d.json");
    Files.writeString(file, """
        {"panels": [
           {"type": "row", "title": "r", "panels": [
              {"type": "timeseries", "title": "inner", "targets": [{"refId": "A", "expr": "rate(inner_total[1m])"}]}]},
           {"type": "text", "title": "notes"}],
         "templating": {"list": [
           {"name": "a", "type": "query", "query": "label_values(var_metric{x=\\"y\\"}, a)"},
           {"name": "b", "type": "query", "query": {"query": "query_result(topk(3, q_metric))"}},
           {"name": "c", "type": "query", "query": "label_values(c)"},
           {"name": "d", "type": "custom", "query": "not_promql, x"}]}}
        """);
    assertEquals(new TreeSet<>(Set.of("inner_total", "var_metric", "q_metric")), GrafanaDashboard.metricNames(file));
  }

  @Test
  void shouldNameTheFileWhenTheDashboardIsNotJson(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("broken.json");
    Files.writeString(file, "{\"panels\": [");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GrafanaDashboard.metricNames(file));
    assertTrue(e.getMessage().startsWith(file + ": not valid JSON"), e.getMessage());
  }

  private static void assertDatasource(JsonElement ref, String where) {
    assertTrue(ref != null && ref.isJsonObject(), where + ": no datasource reference");
    assertEquals("prometheus", ref.getAsJsonObject().get("type").getAsString(), where);
    assertEquals("${DS_PROMETHEUS}", ref.getAsJsonObject().get("uid").getAsString(), where);
  }

  private static int[] box(JsonObject panel) {
    JsonObject g = panel.getAsJsonObject("gridPos");
    return new int[] {g.get("x").getAsInt(), g.get("y").getAsInt(), g.get("w").getAsInt(), g.get("h").getAsInt()};
  }
}
