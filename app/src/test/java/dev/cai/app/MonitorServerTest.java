package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cai.streams.SampleFeed;
import dev.cai.streams.StageMeter;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MonitorServerTest {
  private final ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "monitor-test");
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private MonitorServer server;

  @BeforeEach
  void start() {
    Metrics.addRegistry(registry);
    server = MonitorServer.start(system, registry,
        new Monitoring.Settings(true, "127.0.0.1", 0, Duration.ofMillis(200), Duration.ofSeconds(10)), () -> "testing");
  }

  @AfterEach
  void stop() throws Exception {
    Metrics.removeRegistry(registry);
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(server.url() + path)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void shouldServeStageSeriesInPrometheusTextAndSnapshotsAsJson() throws Exception {
    assertTrue(server.url().startsWith("http://127.0.0.1:"), server.url());
    String stage = "serve-" + System.nanoTime();
    StageMeter m = StageMeter.of("test", stage, 4);
    m.time(1, () -> CompletableFuture.completedFuture(10), n -> n);
    long held = m.enter(2); // two elements inside the stage now
    HttpResponse<String> metrics = get("/metrics");
    assertEquals(200, metrics.statusCode());
    assertTrue(metrics.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
    String text = metrics.body();
    assertTrue(text.contains("cai_stage_elements_total{graph=\"test\",stage=\"" + stage + "\"} 1.0"), text);
    assertTrue(text.contains("cai_stage_tokens_total{graph=\"test\",stage=\"" + stage + "\"} 10.0"), text);
    assertTrue(text.contains("cai_stage_in_flight{graph=\"test\",stage=\"" + stage + "\"} 2.0"), text);
    assertTrue(text.contains("cai_stage_buffer_fill{graph=\"test\",stage=\"" + stage + "\"} 0.5"), text);
    assertTrue(text.contains("cai_stage_latency_seconds_bucket{graph=\"test\",stage=\"" + stage + "\",le="), text);
    m.exit(held, 2, 0);

    HttpResponse<String> snapshot = get("/api/snapshot");
    assertEquals(200, snapshot.statusCode());
    JsonObject o = JsonParser.parseString(snapshot.body()).getAsJsonObject();
    assertEquals("testing", o.get("phase").getAsString());
    assertTrue(o.getAsJsonArray("stages").asList().stream().anyMatch(s -> s.getAsJsonObject().get("stage").getAsString()
        .equals(stage) && s.getAsJsonObject().get("elements").getAsDouble() == 3.0), snapshot.body());

    HttpResponse<String> chart = get("/webjars/chart.js/dist/chart.umd.js");
    assertEquals(200, chart.statusCode());
    assertTrue(chart.body().length() > 100_000 && chart.body().contains("Chart"), "Chart.js from its WebJar");
    HttpResponse<String> page = get("/");
    assertEquals(200, page.statusCode());
    assertTrue(page.body().contains("<html") && page.body().contains("dashboard"), page.body());
    assertEquals(404, get("/dashboard/no-such-file.js").statusCode());
  }

  @Test
  void shouldStreamSnapshotsWithRatesAndEachSampleOnce() throws Exception {
    String stage = "events-" + System.nanoTime();
    StageMeter m = StageMeter.of("test", stage, 1);
    SampleFeed.global().publish(SampleFeed.RL, Map.of("prompt", "p", "response", "r", "score", 0.5, "policyVersion", 2));
    HttpResponse<Stream<String>> events = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/events"))
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, events.statusCode());
    assertTrue(events.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
    List<JsonObject> snapshots = new ArrayList<>();
    try (Stream<String> lines = events.body()) {
      Iterator<String> it = lines.iterator();
      while (snapshots.size() < 4 && it.hasNext()) {
        String line = it.next();
        if (line.startsWith("data:")) {
          snapshots.add(JsonParser.parseString(line.substring(5)).getAsJsonObject());
          m.passed(5, 0); // 5 elements between consecutive snapshots (about 200 ms apart)
        } else if (!line.isEmpty()) {
          assertEquals("event:snapshot", line.replace(" ", ""));
        }
      }
    }
    assertEquals(4, snapshots.size());
    assertTrue(snapshots.get(0).has("history") && snapshots.get(0).getAsJsonObject("history").has("learner"),
        "the first snapshot of a connection carries the curves so far");
    assertTrue(!snapshots.get(1).has("history"), "later ones do not");
    assertTrue(snapshots.get(0).getAsJsonArray("samples").asList().stream()
        .anyMatch(s -> s.getAsJsonObject().get("kind").getAsString().equals("rl")), "the backlog comes first");
    for (JsonObject later : snapshots.subList(1, 4)) {
      assertEquals(0, later.getAsJsonArray("samples").size(), "a sample is sent once per connection");
    }
    double rate = snapshots.get(3).getAsJsonArray("stages").asList().stream().map(s -> s.getAsJsonObject())
        .filter(s -> s.get("stage").getAsString().equals(stage)).findFirst().orElseThrow()
        .get("elementsPerSec").getAsDouble();
    assertTrue(rate > 5 && rate < 100, "about 25 elements/s, got " + rate);
  }
}
