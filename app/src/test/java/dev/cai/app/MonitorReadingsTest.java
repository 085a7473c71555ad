package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import dev.cai.runtime.ppo.UpdateStats;
import dev.cai.streams.SampleFeed;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MonitorReadingsTest {
  private static MonitorReadings reading(long timeMs, double critiques, double tokens, int inFlight,
      Optional<UpdateStats> learner) {
    return new MonitorReadings(timeMs, "sl-generate",
        List.of(new MonitorReadings.Stage("sl", "critique", critiques, tokens, inFlight, 8, inFlight / 8.0, 2100, 5000),
            new MonitorReadings.Stage("sl", "commit", 3, 0, 0, 1, 0, 4, 9)),
        List.of(new MonitorReadings.Model("policy", 10, 3.2, 2, 12, 800)), learner, learner.isPresent() ? 1 : 0,
        learner.isPresent() ? 20_000 : Double.NaN, List.of(new AppMeters.TrainingReading("sl-train", 40, 1.25)),
        new MonitorReadings.Memory(1_000, 6_000, -1));
  }

  @Test
  void shouldComputeRatesBetweenTwoReadingsAndNullWhatIsUnknown() {
    MonitorReadings before = reading(10_000, 12, 1_200, 8, Optional.empty());
    UpdateStats u = new UpdateStats(3, 8, 0, Map.of(0L, 6, 1L, 2), 0.71, 1.2, -0.06, 0.05, 0.01, 0.1, 0.0, 2.3, -0.02,
        0.4, 0.3, 40, 0.9, 1.1, 20_000);
    MonitorReadings now = reading(12_000, 16, 1_500, 4, Optional.of(u));
    SampleFeed feed = new SampleFeed(5);
    feed.publish(SampleFeed.LABEL, Map.of("prompt", "<script>x</script>", "pA", 0.62));
    JsonObject o = now.snapshot(Optional.of(before), feed.since(0));
    JsonObject critique = o.getAsJsonArray("stages").get(0).getAsJsonObject();
    assertEquals(2.0, critique.get("elementsPerSec").getAsDouble(), 1e-12, "4 critiques in 2 s");
    assertEquals(150.0, critique.get("tokensPerSec").getAsDouble(), 1e-12, "300 tokens in 2 s");
    assertEquals(0.5, critique.get("bufferFill").getAsDouble());
    assertEquals(4, critique.get("inFlight").getAsInt());
    assertEquals("sl-generate", o.get("phase").getAsString());
    JsonObject learner = o.getAsJsonObject("learner");
    assertEquals(3, learner.get("policyVersion").getAsLong());
    assertEquals(0.25, learner.get("staleness").getAsDouble(), 1e-12, "6 rollouts 0 versions old, 2 one version old");
    assertEquals(0.71, learner.get("score").getAsDouble());
    assertTrue(o.getAsJsonObject("memory").get("residentBytes").isJsonNull(), "unknown RSS is null, not -1");
    JsonObject sample = o.getAsJsonArray("samples").get(0).getAsJsonObject();
    assertEquals("label", sample.get("kind").getAsString());
    assertEquals("<script>x</script>", sample.get("prompt").getAsString(), "texts stay plain strings");
    assertEquals(0.62, sample.get("pA").getAsDouble());

    JsonObject first = before.snapshot(Optional.empty(), List.of());
    assertEquals(0.0, first.getAsJsonArray("stages").get(0).getAsJsonObject().get("elementsPerSec").getAsDouble(),
        "no rate without an earlier reading");
    assertTrue(first.get("learner").isJsonNull(), "no learner before the first update");
  }

  @Test
  void shouldWriteJournalLinesAsCountsSinceThePhaseBegan() {
    MonitorReadings baseline = new MonitorReadings(0, "sl-generate",
        List.of(new MonitorReadings.Stage("sl", "critique", 12, 1_200, 0, 8, 0, 0, 0)), List.of(), Optional.empty(), 0,
        Double.NaN, List.of(), new MonitorReadings.Memory(1, 2, 3));
    JsonObject line = reading(12_000, 16, 1_500, 4, Optional.empty()).journalLine(baseline);
    JsonObject critique = line.getAsJsonArray("stages").get(0).getAsJsonObject();
    assertEquals(4.0, critique.get("elements").getAsDouble(), "16 - 12");
    assertEquals(300.0, critique.get("tokens").getAsDouble());
    assertEquals(0.5, critique.get("buffer_fill").getAsDouble());
    JsonObject commit = line.getAsJsonArray("stages").get(1).getAsJsonObject();
    assertEquals(3.0, commit.get("elements").getAsDouble(), "a stage new in this phase counts from 0");
    assertEquals(10, line.getAsJsonArray("models").get(0).getAsJsonObject().get("batches").getAsLong());
    assertEquals(12_000, line.get("time_ms").getAsLong());
  }

  @Test
  void shouldStartANewSeriesWhenTheSameCommandRunsAgain() {
    MonitorReadings baseline = reading(1_000, 0, 0, 0, Optional.empty());
    assertEquals(1_000, reading(12_000, 16, 1_500, 4, Optional.empty()).journalLine(baseline).get("phase_start_ms")
        .getAsLong(), "each line names when its command began");
    java.nio.file.Path file = java.nio.file.Path.of("metrics.jsonl");
    List<MetricsSeries.RunLine> lines = List.of(
        new MetricsSeries.RunLine(1, 10_000, "sl-generate", 0, List.of(stage(10))),
        new MetricsSeries.RunLine(2, 20_000, "sl-generate", 0, List.of(stage(30))),
        // sl generate stopped and resumed: same phase, counts from 0 again
        new MetricsSeries.RunLine(3, 30_000, "sl-generate", 25_000, List.of(stage(4))),
        new MetricsSeries.RunLine(4, 40_000, "sl-generate", 25_000, List.of(stage(14))));
    MetricsSeries.Throughput t = MetricsSeries.throughput(file, lines);
    assertEquals(List.of(2.0, 1.0), t.rates().stream().map(MetricsSeries.StageRate::elementsPerSec).toList(),
        "20 critiques in 10 s, then after the restart 10 in 10 s; no negative rate across the restart");
    assertEquals(List.of(0, 1), t.rates().stream().map(MetricsSeries.StageRate::segment).toList());
  }

  private static MetricsSeries.StageReading stage(double elements) {
    return new MetricsSeries.StageReading("sl", "critique", elements, 0, 0.5);
  }

  @Test
  void shouldClampRatesAndReadTheResidentSetFromProcStatus() {
    assertEquals(0.0, MonitorReadings.rate(5, 7, 1), "a counter reset gives 0, never a negative rate");
    assertEquals(0.0, MonitorReadings.rate(5, 1, 0));
    assertEquals(3.0, MonitorReadings.rate(7, 1, 2));
    assertTrue(MonitorReadings.num(Double.NaN).isJsonNull());
    assertEquals(123 * 1024L, ProcessMemory.vmRssBytes("Name:\tjava\nVmPeak:\t 999 kB\nVmRSS:\t     123 kB\n"));
    assertEquals(-1, ProcessMemory.vmRssBytes("Name:\tjava\n"));
    assertTrue(ProcessMemory.residentBytes() > 10_000_000L, "this JVM's own resident set");
  }
}
