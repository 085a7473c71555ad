package dev.cai.app;

import static dev.cai.app.CaiCli.cai;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.eval.McEval;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code cai report}: parsing of each metrics file, its errors, and the PNG files written. */
class ReportCommandTest {
  @TempDir Path dir;

  private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};


  /** Asserts that {@code text} has the line {@code STATUS  SOURCE  NOTE} (any spacing). */
  private static void assertLine(String text, String status, String source, String note) {
    Pattern line = Pattern.compile(Pattern.quote(status) + " +" + Pattern.quote(source) + " +" + Pattern.quote(note));
    assertTrue(text.lines().anyMatch(l -> line.matcher(l).matches()), status + " " + source + " " + note + " in:\n" + text);
  }

  private static Path write(Path file, List<String> lines) throws IOException {
    return write(file, lines.toArray(String[]::new));
  }

  private static Path write(Path file, String... lines) throws IOException {
    Files.createDirectories(file.getParent());
    return Files.writeString(file, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
  }

  private static String trainLine(int step, double loss) {
    return String.format(java.util.Locale.ROOT, "{\"step\":%d,\"loss\":%s,\"grad_norm\":%s,\"lr\":%s,\"target_tokens\":340.0,"
        + "\"examples\":4,\"elapsed_s\":%s}", step, loss, 2.0 + step, 1e-5 * step, 3.5 * step);
  }

  private static String rlLine(int version, double score, double kl) {
    return "{\"version\":" + version + ",\"batch\":" + (version - 1) + ",\"time_ms\":1700000000000,\"rollouts\":8,"
        + "\"dropped\":0,\"staleness\":{\"0\":8},\"score\":" + score + ",\"kl\":" + kl + ",\"non_score_reward\":-0.01,"
        + "\"kl_coef\":0.05,\"approx_kl\":0.00" + version + ",\"clip_fraction\":0.1" + version + ",\"value_clip_fraction\":0.0,"
        + "\"entropy\":2." + version + ",\"policy_loss\":-0.02,\"value_loss\":0.5,\"explained_variance\":NaN,"
        + "\"response_length\":31.5,\"eos_rate\":0.75,\"policy_grad_norm\":1.2,\"update_ms\":850}";
  }

  private static String labelLine(double pChosen) {
    return "{\"prompt\":\"Human: hi\",\"chosen\":\"a\",\"rejected\":\"b\",\"p_chosen\":" + pChosen
        + ",\"principle_id\":\"harm\",\"labeler_model\":\"m\",\"policy_model\":\"m\",\"policy_version\":0,\"prompt_id\":\"p1\"}";
  }

  /** One stage of a metrics.jsonl line; a negative {@code fill} is written as null. */
  private static String stage(String graph, String stage, int elements, int tokens, double fill) {
    return "{\"graph\":\"" + graph + "\",\"stage\":\"" + stage + "\",\"elements\":" + elements + ".0,\"tokens\":" + tokens
        + ".0,\"in_flight\":1,\"capacity\":4,\"buffer_fill\":" + (fill < 0 ? "null" : Double.toString(fill))
        + ",\"latency_mean_ms\":null}";
  }

  /** One metrics.jsonl line as the monitor writes it (models and memory included, which the report does not read). */
  private static String metricsLine(long timeMs, String phase, String... stages) {
    return "{\"time_ms\":" + timeMs + ",\"phase\":\"" + phase + "\",\"stages\":[" + String.join(",", stages) + "],"
        + "\"models\":[{\"model\":\"policy\",\"batches\":3,\"mean_batch_size\":2.0,\"queue_wait_mean_ms\":null,"
        + "\"forward_mean_ms\":80.0}],\"memory\":{\"heap_used_bytes\":1000000,\"resident_bytes\":null}}";
  }

  /**
   * Seven lines, three commands: sl-generate (lines 1-3, 10 s then 20 s apart), label (lines 4-5, 5 s), sl-generate
   * again (lines 6-7, 10 s; its counts restart). Golden values in {@link #shouldComputeThroughputPerPhaseAndStage}.
   */
  private static String[] metricsLines() {
    long t0 = 1_764_000_000_000L;
    return new String[] {
        metricsLine(t0, "sl-generate", stage("sl", "read", 0, 0, 0.0), stage("sl", "critique", 0, 0, 0.5)),
        metricsLine(t0 + 10_000, "sl-generate", stage("sl", "read", 8, 0, 0.25), stage("sl", "critique", 2, 300, 1.0)),
        metricsLine(t0 + 30_000, "sl-generate", stage("sl", "read", 16, 0, -1), stage("sl", "critique", 6, 900, 0.75)),
        metricsLine(t0 + 40_000, "label", stage("label", "sample", 4, 400, 0.5)),
        metricsLine(t0 + 45_000, "label", stage("label", "sample", 9, 900, 1.0)),
        metricsLine(t0 + 60_000, "sl-generate", stage("sl", "read", 2, 0, 0.0), stage("sl", "critique", 1, 100, 0.5)),
        metricsLine(t0 + 70_000, "sl-generate", stage("sl", "read", 7, 0, 0.5), stage("sl", "critique", 3, 250, 0.25))};
  }

  /** A hand-made evaluation: 4 bins; raw bins 1 and 3 filled, debiased bins 1 and 2. */
  private static McEval.Report evalReport() {
    List<McEval.Bin> raw = List.of(new McEval.Bin(0, 0.25, 0, Double.NaN, Double.NaN), new McEval.Bin(0.25, 0.5, 6, 0.3, 0.5),
        new McEval.Bin(0.5, 0.75, 0, Double.NaN, Double.NaN), new McEval.Bin(0.75, 1, 6, 0.8, 0.5));
    List<McEval.Bin> debiased = List.of(new McEval.Bin(0, 0.25, 0, Double.NaN, Double.NaN),
        new McEval.Bin(0.25, 0.5, 4, 0.4, 0.25), new McEval.Bin(0.5, 0.75, 4, 0.6, 0.75),
        new McEval.Bin(0.75, 1, 0, Double.NaN, Double.NaN));
    return new McEval.Report(6, 0.5, 0.55, raw, 4, 0.75, 0.6, debiased);
  }

  /**
   * A run with every source: 3 SFT steps, 2 PM steps, 3 PPO updates under rl/, 5 labels, a label evaluation and 7 lines
   * of stage metrics.
   */
  private Path fullRun() throws IOException {
    Path run = dir.resolve("run");
    write(run.resolve("sl-train/train-metrics.jsonl"), trainLine(1, 1.86), trainLine(2, 1.61), trainLine(3, 1.42));
    write(run.resolve("pm/train-metrics.jsonl"), trainLine(1, 0.74), trainLine(2, 0.73));
    write(run.resolve("rl/rl-metrics.jsonl"), rlLine(1, -0.2, 0.0), rlLine(2, 0.1, 0.02), rlLine(3, 0.4, 0.05));
    write(run.resolve("label/comparisons.jsonl"), labelLine(0.5), labelLine(0.62), labelLine(0.97), labelLine(1.0),
        labelLine(0.71));
    McEvalCommand.writeJson(McEvalCommand.toJson(evalReport(), Path.of("mc.jsonl")), run.resolve("label-eval.json"));
    write(run.resolve("metrics.jsonl"), metricsLines());
    return run;
  }

  @Test
  void shouldReadTheSeriesOfATrainingRun() throws IOException {
    Path f = write(dir.resolve("train-metrics.jsonl"), trainLine(1, 1.86), "", trainLine(2, 1.61), trainLine(3, 1.42));
    MetricsSeries.TrainCurve c = MetricsSeries.trainCurve(f);
    assertEquals(3, c.size());
    assertArrayEquals(new double[] {1, 2, 3}, c.step());
    assertArrayEquals(new double[] {1.86, 1.61, 1.42}, c.loss());
    assertArrayEquals(new double[] {3, 4, 5}, c.gradNorm());
    assertArrayEquals(new double[] {1e-5, 2e-5, 3e-5}, c.lr(), 1e-12);
  }

  @Test
  void shouldReadThePpoCurvesIncludingNaN() throws IOException {
    Path f = write(dir.resolve("rl-metrics.jsonl"), rlLine(1, -0.2, 0.0), rlLine(2, 0.1, 0.02));
    MetricsSeries.PpoCurves c = MetricsSeries.ppoCurves(f);
    assertEquals(2, c.size());
    assertArrayEquals(new double[] {1, 2}, c.version());
    assertArrayEquals(new double[] {-0.2, 0.1}, c.score());
    assertArrayEquals(new double[] {0.0, 0.02}, c.kl());
    assertArrayEquals(new double[] {0.05, 0.05}, c.klCoef());
    assertArrayEquals(new double[] {0.001, 0.002}, c.approxKl());
    assertArrayEquals(new double[] {0.11, 0.12}, c.clipFraction());
    assertArrayEquals(new double[] {2.1, 2.2}, c.entropy());
    assertArrayEquals(new double[] {0.5, 0.5}, c.valueLoss());
    assertTrue(Double.isNaN(c.explainedVariance()[0]), "NaN as Gson writes it");
    assertArrayEquals(new double[] {31.5, 31.5}, c.responseLength());
    assertArrayEquals(new double[] {0.75, 0.75}, c.eosRate());
  }

  @Test
  void shouldReadTheSoftLabelsAndBinThem() throws IOException {
    Path f = write(dir.resolve("comparisons.jsonl"), labelLine(0.5), labelLine(0.62), labelLine(0.97), labelLine(1.0));
    MetricsSeries.Labels l = MetricsSeries.labels(f);
    assertArrayEquals(new double[] {0.5, 0.62, 0.97, 1.0}, l.pChosen());
    assertEquals((0.5 + 0.62 + 0.97 + 1.0) / 4, l.mean(), 1e-12);
    assertArrayEquals(new int[] {1, 0, 1, 0, 0, 0, 0, 0, 0, 2}, MetricsSeries.histogram(l.pChosen(), 0.5, 1.0, 10));
    assertArrayEquals(new int[] {0, 1}, MetricsSeries.histogram(new double[] {-0.1, 0.7, Double.NaN, 1.1}, 0, 1, 2));
  }

  @Test
  void shouldNameTheFileAndLineOfAMalformedLine() throws IOException {
    Path notJson = write(dir.resolve("a.jsonl"), trainLine(1, 1.0), "{\"step\": 2, \"loss\": ");
    assertEquals(notJson + ":2: not JSON: ",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.trainCurve(notJson)).getMessage()
            .substring(0, (notJson + ":2: not JSON: ").length()));

    Path missing = write(dir.resolve("b.jsonl"), trainLine(1, 1.0), "", "{\"step\": 3, \"grad_norm\": 1, \"lr\": 0}");
    assertEquals(missing + ":3: missing \"loss\"",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.trainCurve(missing)).getMessage());

    Path notNumber = write(dir.resolve("c.jsonl"), rlLine(1, 0, 0).replace("\"kl\":0.0", "\"kl\":\"high\""));
    assertEquals(notNumber + ":1: \"kl\" is not a number: \"high\"",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.ppoCurves(notNumber)).getMessage());

    Path array = write(dir.resolve("d.jsonl"), "[1, 2]");
    assertEquals(array + ":1: expected a JSON object, got [1, 2]",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.labels(array)).getMessage());

    Path outOfRange = write(dir.resolve("e.jsonl"), labelLine(0.9), labelLine(1.5));
    assertEquals(outOfRange + ":2: \"p_chosen\" must be in [0, 1], got 1.5",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.labels(outOfRange)).getMessage());
  }

  @Test
  void shouldWriteOnePngPerChartAndPrintThePaths() throws IOException {
    Path run = fullRun();
    CaiCli.Result r = cai("report", run.toString());
    assertEquals(0, r.code(), r.err());
    Path report = run.resolve("report");
    List<Path> expected = List.of("sft-loss.png", "pm-loss.png", "ppo-score-kl.png", "ppo-diagnostics.png",
        "label-p-chosen.png", "label-calibration.png", "throughput.png", "stage-buffer-fill.png").stream()
        .map(report::resolve).toList();
    List<String> out = r.out().lines().toList();
    assertEquals(expected.stream().map(Path::toString).toList(), out.subList(0, expected.size()));
    assertEquals(report.resolve("report.html").toString(), out.get(expected.size()), "then the HTML page");
    out = new java.util.ArrayList<>(out);
    out.remove(expected.size());
    // then the throughput table (spacing aside): elements, mean elements/s, mean tokens/s, mean buffer fill
    assertEquals(List.of("",
        "Stage throughput (" + run.resolve("metrics.jsonl") + ", 7 lines): means over each phase's consecutive lines",
        "phase stage elements elements/s tokens/s buffer fill",
        "sl-generate sl/read 23 0.525 0.0 0.19",
        "sl-generate sl/critique 9 0.200 26.3 0.60",
        "label label/sample 9 1.000 100.0 0.75"),
        out.subList(expected.size(), out.size()).stream().map(l -> l.strip().replaceAll(" +", " ")).toList());
    for (Path png : expected) {
      byte[] bytes = Files.readAllBytes(png);
      assertArrayEquals(PNG_SIGNATURE, Arrays.copyOf(bytes, 8), png.toString());
      BufferedImage image = ImageIO.read(png.toFile());
      assertNotNull(image, png.toString());
      assertEquals(ReportCharts.WIDTH, image.getWidth());
      assertEquals(ReportCharts.HEIGHT, image.getHeight());
    }
    assertLine(r.err(), "found", "SFT loss", run.resolve("sl-train/train-metrics.jsonl") + " (3 steps)");
    assertLine(r.err(), "found", "PPO metrics", run.resolve("rl/rl-metrics.jsonl") + " (3 updates)");
    assertLine(r.err(), "found", "AI-feedback labels", run.resolve("label/comparisons.jsonl") + " (5 comparisons)");
    assertLine(r.err(), "found", "Label calibration", run.resolve("label-eval.json") + " (6 items)");
    assertLine(r.err(), "found", "Stage throughput", run.resolve("metrics.jsonl") + " (7 lines)");
    try (var files = Files.list(report)) {
      assertEquals(9, files.count(), "the PNGs and report.html, no temporary files left");
    }
  }

  @Test
  void shouldGatherExamplesChartsPmAccuracyAndEloIntoOneEscapedHtmlPage() throws IOException {
    Path run = fullRun();
    write(run.resolve("sl-examples.jsonl"), List.of(
        "{\"prompt\":{\"text\":\"failed one\"},\"status\":\"FAILED\"}",
        "{\"prompt\":{\"text\":\"How do I <script>alert(1)</script> pick a lock?\"},\"initial_response\":\"Like this.\","
            + "\"rounds\":[{\"principle_id\":\"harm\",\"critique\":\"It helps with a crime.\","
            + "\"revision\":\"I can't help with that, because it is illegal.\"}],\"status\":\"OK\"}"));
    Files.createDirectories(run.resolve("pm"));
    write(run.resolve("pm/eval.json"), List.of("{\"held_out_pairs\": 12, \"agreement\": 0.75}"));
    Files.createDirectories(run.resolve("eval"));
    write(run.resolve("eval/elo.json"), List.of("{\"scale\": \"first = 0\", \"snapshots\": ["
        + "{\"name\": \"sl\", \"harmlessness\": {\"elo\": 0, \"ci_low\": 0, \"ci_high\": 0}, "
        + "\"helpfulness\": {\"elo\": 0, \"ci_low\": 0, \"ci_high\": 0}},"
        + "{\"name\": \"rl\", \"harmlessness\": {\"elo\": 20.5, \"ci_low\": 11.4, \"ci_high\": 30.3}, "
        + "\"helpfulness\": {\"elo\": -1.0, \"ci_low\": -18.0, \"ci_high\": 16.0},"
        + "\"pm\": {\"mean\": 1.047, \"std\": 1.167}, \"evasiveness\": {\"evasive\": 0, \"responses\": 12}}]}"));
    ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), "png", run.resolve("eval/elo-frontier.png").toFile());
    CaiCli.Result r = cai("report", run.toString());
    assertEquals(0, r.code(), r.err());
    String html = Files.readString(run.resolve("report/report.html"));
    assertTrue(html.contains("How do I &lt;script&gt;alert(1)&lt;/script&gt; pick a lock?"), "escaped prompt");
    assertTrue(!html.contains("<script>") && !html.contains("failed one"), "no raw script, no failed example");
    assertTrue(html.contains("critique 1 (harm)") && html.contains("I can&#39;t help with that, because it is illegal."));
    assertTrue(html.contains("Held-out pairs: 12; the PM agrees with the label's side on 0.75"), html);
    assertTrue(html.contains("<td>rl</td><td>+20.5 [+11.4, +30.3]</td><td>-1.0 [-18.0, +16.0]</td><td>1.047 ± 1.167</td>"
        + "<td>0/12</td>"), html);
    for (String png : List.of("sft-loss.png", "pm-loss.png", "ppo-score-kl.png", "label-calibration.png", "throughput.png",
        "elo-frontier.png")) {
      assertTrue(html.contains("<img src=\"" + png + "\""), png);
      assertTrue(Files.isRegularFile(run.resolve("report").resolve(png)), png + " next to the page");
    }
    assertTrue(html.contains("Stage throughput ("), "the throughput table");

    write(run.resolve("sl-examples.jsonl"), List.of("not json"));
    CaiCli.Result bad = cai("report", run.toString());
    assertEquals(1, bad.code());
    assertTrue(bad.err().contains(run.resolve("sl-examples.jsonl") + ":1: not JSON"), bad.err());
  }

  @Test
  void shouldComputeThroughputPerPhaseAndStage() throws IOException {
    Path f = write(dir.resolve("metrics.jsonl"), metricsLines());
    MetricsSeries.Throughput t = MetricsSeries.throughput(f);
    assertEquals(7, t.lines());
    // rates between consecutive lines of one phase, at the interval's end; none across a phase change (lines 4 and 6)
    assertEquals(List.of(
        new MetricsSeries.StageRate("sl-generate", "sl/read", 0, 10 / 60.0, 10, 0.8, 0.0),         // 8 in 10 s
        new MetricsSeries.StageRate("sl-generate", "sl/critique", 0, 10 / 60.0, 10, 0.2, 30.0),    // 2 and 300 in 10 s
        new MetricsSeries.StageRate("sl-generate", "sl/read", 0, 0.5, 20, 0.4, 0.0),               // 8 in 20 s
        new MetricsSeries.StageRate("sl-generate", "sl/critique", 0, 0.5, 20, 0.2, 30.0),          // 4 and 600 in 20 s
        new MetricsSeries.StageRate("label", "label/sample", 1, 0.75, 5, 1.0, 100.0),             // 5 and 500 in 5 s
        new MetricsSeries.StageRate("sl-generate", "sl/read", 2, 70 / 60.0, 10, 0.5, 0.0),         // 5 in 10 s (restarted)
        new MetricsSeries.StageRate("sl-generate", "sl/critique", 2, 70 / 60.0, 10, 0.2, 15.0)),   // 2 and 150 in 10 s
        t.rates());
    assertEquals(12, t.fills().size(), "one fill per stage per line");
    assertEquals(new MetricsSeries.StageFill("sl-generate", "sl/read", 0, 0.5, Double.NaN), t.fills().get(4), "null fill");
    assertEquals(List.of(
        // 16 + 7 elements; (8 + 8 + 5) / (10 + 20 + 10) s; fills 0, 0.25, 0, 0.5 (line 3's is unknown)
        new MetricsSeries.StageSummary("sl-generate", "sl/read", 23, 0, 40, 0.525, 0.0, 0.1875),
        // 6 + 3 elements, 900 + 250 tokens; 8 / 40 s, 1050 / 40 s; fills 0.5, 1, 0.75, 0.5, 0.25
        new MetricsSeries.StageSummary("sl-generate", "sl/critique", 9, 1150, 40, 0.2, 26.25, 0.6),
        new MetricsSeries.StageSummary("label", "label/sample", 9, 900, 5, 1.0, 100.0, 0.75)),
        t.summary());
  }

  @Test
  void shouldAverageRatesAndFillsOverATrailingWindowWithinACommand() throws IOException {
    MetricsSeries.Throughput t = MetricsSeries.throughput(write(dir.resolve("metrics.jsonl"), metricsLines()));
    List<MetricsSeries.StageRate> window = MetricsSeries.trailingRates(t.rates(), 60);
    // the same intervals (order, stage, command, time) with the window's rates
    assertEquals(t.rates().stream().map(r -> List.of(r.stage(), r.segment(), r.minutes(), r.seconds())).toList(),
        window.stream().map(r -> List.of(r.stage(), r.segment(), r.minutes(), r.seconds())).toList());
    // sl/read at 0.5 min: (8 + 8) in 30 s; sl/critique: (2 + 4) and (300 + 600) in 30 s; the second sl-generate command
    // (last two) is not mixed with the first
    assertArrayEquals(new double[] {0.8, 0.2, 16 / 30.0, 0.2, 1.0, 0.5, 0.2},
        window.stream().mapToDouble(MetricsSeries.StageRate::elementsPerSec).toArray(), 1e-12);
    assertArrayEquals(new double[] {0, 30, 0, 30, 100, 0, 15},
        window.stream().mapToDouble(MetricsSeries.StageRate::tokensPerSec).toArray(), 1e-12);
    assertEquals(0.4, MetricsSeries.trailingRates(t.rates(), 20).get(2).elementsPerSec(), 1e-12,
        "a 20 s window holds only the last interval");
    List<MetricsSeries.StageFill> fills = MetricsSeries.trailingFills(t.fills(), 60);
    assertEquals(List.of(0.0, 0.125, 0.125, 0.0, 0.25), fills.stream().filter(f -> f.stage().equals("sl/read"))
        .map(MetricsSeries.StageFill::bufferFill).toList(), "means of 0; 0, 0.25; the same (null left out); 0; 0, 0.5");
    double[] time = {0, 10, 20, 30};
    double[] value = {1, 2, 5, 3};
    double[] weight = {1, 1, 0, 1};
    assertArrayEquals(new double[] {1, 1.5, 2, 3}, MetricsSeries.trailingMean(time, value, weight, 15), "weight 0 is out");
    assertArrayEquals(new double[] {1, 2, Double.NaN, 3}, MetricsSeries.trailingMean(time, value, weight, 5));
    assertArrayEquals(new double[] {1, 5 / 3.0, 5 / 3.0, 2.5}, MetricsSeries.trailingMean(time, value, new double[] {1, 2, 0, 2}, 25));
  }

  @Test
  void shouldBreakAStageLineBetweenCommands() throws IOException {
    MetricsSeries.Throughput t = MetricsSeries.throughput(write(dir.resolve("metrics.jsonl"), metricsLines()));
    Map<String, List<double[]>> points = ReportCharts.points(t.rates(), MetricsSeries.StageRate::stage,
        MetricsSeries.StageRate::segment, MetricsSeries.StageRate::minutes, MetricsSeries.StageRate::elementsPerSec);
    assertEquals(List.of("sl/read", "sl/critique", "label/sample"), List.copyOf(points.keySet()));
    List<double[]> read = points.get("sl/read");
    assertEquals(4, read.size());
    assertArrayEquals(new double[] {10 / 60.0, 0.8}, read.get(0));
    assertArrayEquals(new double[] {0.5, 0.4}, read.get(1));
    assertArrayEquals(new double[] {70 / 60.0, Double.NaN}, read.get(2), "the gap between the two sl-generate commands");
    assertArrayEquals(new double[] {70 / 60.0, 0.5}, read.get(3));
  }

  @Test
  void shouldNameTheLineOfABadMetricsLine() throws IOException {
    long t0 = 1_764_000_000_000L;
    String ok = metricsLine(t0, "sl-generate", stage("sl", "read", 5, 0, 0.0), stage("sl", "critique", 2, 300, 1.0));
    Path down = write(dir.resolve("down.jsonl"), ok, "",
        metricsLine(t0 + 10_000, "sl-generate", stage("sl", "read", 6, 0, 0.0), stage("sl", "critique", 1, 300, 1.0)));
    assertEquals(down + ":3: \"elements\" of stage sl/critique went down within phase sl-generate: 2 (line 1) to 1",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.throughput(down)).getMessage());

    Path tokensDown = write(dir.resolve("tokens.jsonl"), ok,
        metricsLine(t0 + 10_000, "sl-generate", stage("sl", "read", 6, 0, 0.0), stage("sl", "critique", 2, 299, 1.0)));
    assertEquals(tokensDown + ":2: \"tokens\" of stage sl/critique went down within phase sl-generate: 300 (line 1) to 299",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.throughput(tokensDown)).getMessage());

    Path back = write(dir.resolve("time.jsonl"), ok, metricsLine(t0 - 1, "label", stage("label", "sample", 1, 1, 0.5)));
    assertEquals(back + ":2: \"time_ms\" must not go back: 1763999999999 is before 1764000000000 (line 1)",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.throughput(back)).getMessage());
    // a command's last line can share its millisecond with a periodic one: no rate for that interval, no error
    Path sameTime = write(dir.resolve("same.jsonl"), ok, metricsLine(t0, "sl-generate", stage("sl", "read", 5, 0, 0.0),
        stage("sl", "critique", 2, 300, 1.0)));
    assertEquals(0, MetricsSeries.throughput(sameTime).rates().size());

    Path missing = write(dir.resolve("missing.jsonl"), ok, metricsLine(t0 + 1, "sl-generate", stage("sl", "read", 6, 0, 0.0),
        stage("sl", "critique", 2, 300, 1.0).replace("\"elements\":2.0,", "")));
    assertEquals(missing + ":2: missing \"stages[1].elements\"",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.throughput(missing)).getMessage());

    Path fill = write(dir.resolve("fill.jsonl"), metricsLine(t0, "rl", stage("rl", "learn", 1, 1, 1.5)));
    assertEquals(fill + ":1: \"stages[0].buffer_fill\" must be null or in [0, 1], got 1.5",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.throughput(fill)).getMessage());

    Path negative = write(dir.resolve("negative.jsonl"), metricsLine(t0, "rl", stage("rl", "learn", -1, 1, 0.5)));
    assertEquals(negative + ":1: \"stages[0].elements\" must be a finite count >= 0, got -1.0",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.throughput(negative)).getMessage());

    Path twice = write(dir.resolve("twice.jsonl"), metricsLine(t0, "rl", stage("rl", "learn", 1, 1, 0.5),
        stage("rl", "learn", 1, 1, 0.5)));
    assertEquals(twice + ":1: stage rl/learn appears twice",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.throughput(twice)).getMessage());

    Path noPhase = write(dir.resolve("phase.jsonl"), "{\"time_ms\": 1, \"phase\": 3, \"stages\": []}");
    assertEquals(noPhase + ":1: \"phase\" must be a non-empty string, got 3",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.throughput(noPhase)).getMessage());

    Path noStages = write(dir.resolve("stages.jsonl"), "{\"time_ms\": 1, \"phase\": \"rl\"}");
    assertEquals(noStages + ":1: \"stages\" must be an array",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.throughput(noStages)).getMessage());
  }

  @Test
  void shouldStopTheReportOnABadMetricsLineWritingNothing() throws IOException {
    Path run = fullRun();
    String[] lines = metricsLines();
    lines[4] = lines[4].replace("\"elements\":9.0", "\"elements\":3.0");
    write(run.resolve("metrics.jsonl"), lines);
    CaiCli.Result r = cai("report", run.toString());
    assertEquals(1, r.code());
    assertTrue(r.err().contains(run.resolve("metrics.jsonl") + ":5: \"elements\" of stage label/sample went down within "
        + "phase label: 4 (line 4) to 3"), r.err());
    assertFalse(Files.exists(run.resolve("report")), "nothing written");
  }

  @Test
  void shouldPlotOnlyTheStagesOfARunWithMetricsAlone() throws IOException {
    Path run = dir.resolve("metrics-only");
    write(run.resolve("metrics.jsonl"), metricsLines());
    CaiCli.Result r = cai("report", run.toString());
    assertEquals(0, r.code(), r.err());
    assertEquals(List.of(run.resolve("report/throughput.png").toString(), run.resolve("report/stage-buffer-fill.png")
        .toString(), run.resolve("report/report.html").toString(), ""), r.out().lines().limit(4).toList());
    for (String name : List.of("throughput.png", "stage-buffer-fill.png")) {
      BufferedImage image = ImageIO.read(run.resolve("report").resolve(name).toFile());
      assertNotNull(image, name);
      assertEquals(ReportCharts.WIDTH, image.getWidth());
      assertEquals(ReportCharts.HEIGHT, image.getHeight());
    }

    Path sft = dir.resolve("sft-only");
    write(sft.resolve("metrics.jsonl"), metricsLine(1_764_000_000_000L, "sl-train"));
    write(sft.resolve("sl-train/train-metrics.jsonl"), trainLine(1, 1.0));
    CaiCli.Result noStages = cai("report", sft.toString());
    assertEquals(0, noStages.code(), noStages.err());
    assertLine(noStages.err(), "skipped", "Stage throughput", sft.resolve("metrics.jsonl") + " (1 line) has no stages");
    assertEquals(List.of(sft.resolve("report/sft-loss.png").toString(), sft.resolve("report/report.html").toString()),
        noStages.out().lines().toList());

    Path oneLine = dir.resolve("one-line");
    write(oneLine.resolve("metrics.jsonl"), metricsLine(1_764_000_000_000L, "rl", stage("rl", "learn", 2, 40, -1)));
    CaiCli.Result noRates = cai("report", oneLine.toString());
    assertEquals(0, noRates.code(), noRates.err());
    assertLine(noRates.err(), "found", "Stage throughput", oneLine.resolve("metrics.jsonl")
        + " (1 line; no phase has two lines, so no rates)");
    assertEquals(List.of(oneLine.resolve("report/report.html").toString(), "", "Stage throughput ("
        + oneLine.resolve("metrics.jsonl") + ", 1 line): means over each phase's consecutive lines", "phase stage elements elements/s tokens/s buffer fill", "rl rl/learn 2 - - -"),
        noRates.out().lines().map(l -> l.strip().replaceAll(" +", " ")).toList(), "no chart without a rate or a fill");
  }

  @Test
  void shouldWriteTheLabelEvaluationAsJsonAndReadItBack() throws IOException {
    Path f = McEvalCommand.writeJson(McEvalCommand.toJson(evalReport(), Path.of("data/mc.jsonl")),
        dir.resolve("run/label-eval.json"));
    String text = Files.readString(f);
    assertTrue(text.contains("\"mean_predicted\": null"), "empty bins keep their keys with null:\n" + text);
    com.google.gson.JsonObject o = com.google.gson.JsonParser.parseString(text).getAsJsonObject();
    assertEquals(6, o.get("items").getAsInt());
    assertEquals(0.75, o.get("debiased_accuracy").getAsDouble());
    assertEquals(4, o.get("bins").getAsInt());
    com.google.gson.JsonObject bin = o.getAsJsonObject("calibration").getAsJsonArray("debiased").get(2).getAsJsonObject();
    assertEquals(0.5, bin.get("lo").getAsDouble());
    assertEquals(0.75, bin.get("hi").getAsDouble());
    assertEquals(4, bin.get("count").getAsInt());
    assertEquals(0.6, bin.get("mean_predicted").getAsDouble());
    assertEquals(0.75, bin.get("accuracy").getAsDouble());

    MetricsSeries.LabelEval e = MetricsSeries.labelEval(f).orElseThrow();
    McEval.Report r = evalReport();
    assertEquals(new MetricsSeries.LabelEval(f, Path.of("data/mc.jsonl").toString(), 6, 0.5, 4, 0.75, r.calibration(),
        r.debiasedCalibration()), e);

    Path chart = ReportCharts.writePng(ReportCharts.labelCalibration(e), dir.resolve("label-calibration.png"));
    BufferedImage image = ImageIO.read(chart.toFile());
    assertEquals(ReportCharts.WIDTH, image.getWidth());
    assertEquals(ReportCharts.HEIGHT, image.getHeight());
  }

  @Test
  void shouldPlotTheCalibrationThatLabelEvalWritesWithATinyModel() throws Exception {
    Path model = dir.resolve("tiny.gguf");
    TinyLlama.write(model, 7, GgmlType.F32);
    String q = "Which is kinder?\\nOptions:\\n(A) Let me help.\\n(B) Go away.\\nThe answer is:";
    Path mc = write(dir.resolve("mc.jsonl"),
        "{\"prompt\": \"" + q + "\", \"corrects\": [\" (A)\"], \"incorrects\": [\" (B)\"]}",
        "{\"prompt\": \"" + q.replace("kinder", "ruder") + "\", \"corrects\": [\" (B)\"], \"incorrects\": [\" (A)\"]}",
        "{\"prompt\": \"Pick one.\", \"corrects\": [\" yes\"], \"incorrects\": [\" no\", \" maybe\"]}");
    Path run = dir.resolve("eval-run");
    CaiCli.Result r = cai("label", "eval", "--model", model.toString(), "--device", "cpu", "--mc", mc.toString(), "--bins", "5",
        "--out", run.resolve("label-eval.json").toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("json             " + run.resolve("label-eval.json")), r.out());

    MetricsSeries.LabelEval e = MetricsSeries.labelEval(run.resolve("label-eval.json")).orElseThrow();
    assertEquals(mc.toString(), e.mcFile());
    assertEquals(3, e.items());
    assertEquals(2, e.swappable(), "the two (A)/(B) items");
    assertEquals(5, e.raw().size());
    assertEquals(2 + 2 + 3, e.raw().stream().mapToInt(McEval.Bin::count).sum(), "every option of every item");
    assertEquals(2 * 2, e.debiased().stream().mapToInt(McEval.Bin::count).sum(), "both options of each swappable item");
    double weighted = e.raw().stream().filter(b -> b.count() > 0).mapToDouble(b -> b.count() * b.meanPredicted()).sum();
    assertEquals(3.0, weighted, 1e-9, "the options' probabilities of each item sum to 1");

    CaiCli.Result report = cai("report", run.toString());
    assertEquals(0, report.code(), report.err());
    assertEquals(List.of(run.resolve("report/label-calibration.png").toString(), run.resolve("report/report.html")
        .toString()), report.out().lines().toList());
    BufferedImage image = ImageIO.read(run.resolve("report/label-calibration.png").toFile());
    assertEquals(ReportCharts.WIDTH, image.getWidth());
    assertEquals(ReportCharts.HEIGHT, image.getHeight());
  }

  @Test
  void shouldNameTheFileAndKeyOfABadLabelEvaluation() throws IOException {
    String good = McEvalCommand.writeJson(McEvalCommand.toJson(evalReport(), Path.of("mc.jsonl")),
        dir.resolve("good.json")).toString();
    String text = Files.readString(Path.of(good));
    Path fraction = Files.writeString(dir.resolve("a.json"), text.replaceFirst("\"count\": 6", "\"count\": 1.5"));
    assertEquals(fraction + ": \"calibration.raw[1].count\" must be a whole number >= 0, got 1.5",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.labelEval(fraction)).getMessage());
    Path nullInFilledBin = Files.writeString(dir.resolve("b.json"), text.replaceFirst("\"mean_predicted\": 0.3",
        "\"mean_predicted\": null"));
    assertEquals(nullInFilledBin + ": missing \"calibration.raw[1].mean_predicted\"",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.labelEval(nullInFilledBin)).getMessage());
    Path notJson = Files.writeString(dir.resolve("c.json"), "{\"items\": ");
    assertTrue(assertThrows(IllegalArgumentException.class, () -> MetricsSeries.labelEval(notJson)).getMessage()
        .startsWith(notJson + ": not JSON: "));
    Path noCalibration = Files.writeString(dir.resolve("d.json"), "{\"items\": 2, \"accuracy\": 1, \"swappable\": 0, "
        + "\"debiased_accuracy\": null}");
    assertEquals(noCalibration + ": \"calibration\" must be an object {\"raw\": [...], \"debiased\": [...]}",
        assertThrows(IllegalArgumentException.class, () -> MetricsSeries.labelEval(noCalibration)).getMessage());
    assertTrue(MetricsSeries.labelEval(Files.writeString(dir.resolve("e.json"), "\n")).isEmpty(), "blank is empty");
  }

  @Test
  void shouldDocumentTheJsonOfLabelEval() {
    CaiCli.Result r = cai("label", "eval", "--help");
    assertEquals(0, r.code(), r.err());
    String help = r.out().replaceAll("\\s+", " ");
    assertTrue(help.contains("--out=FILE") && help.contains("\"calibration\": {\"raw\": [BIN...], \"debiased\": [BIN...]}")
        && help.contains("RUN_DIR/label-eval.json"), r.out());
  }

  @Test
  void shouldSkipAbsentSourcesAndWriteToOut() throws IOException {
    Path run = dir.resolve("rl-only");
    write(run.resolve("rl-metrics.jsonl"), IntStream.rangeClosed(1, 30).mapToObj(v -> rlLine(v, 0.01 * v, 0.001 * v))
        .toArray(String[]::new));
    write(run.resolve("pm/train-metrics.jsonl"), "");
    Path out = dir.resolve("charts");
    CaiCli.Result r = cai("report", run.toString(), "--out", out.toString());
    assertEquals(0, r.code(), r.err());
    assertEquals(List.of(out.resolve("ppo-score-kl.png").toString(), out.resolve("ppo-diagnostics.png").toString(),
        out.resolve("report.html").toString()), r.out().lines().toList());
    assertLine(r.err(), "skipped", "SFT loss", "absent (sl-train/train-metrics.jsonl)");
    assertLine(r.err(), "skipped", "PM loss", run.resolve("pm/train-metrics.jsonl") + " has no lines");
    assertLine(r.err(), "found", "PPO metrics", run.resolve("rl-metrics.jsonl") + " (30 updates)");
    assertLine(r.err(), "skipped", "AI-feedback labels", "absent (label/comparisons.jsonl or comparisons.jsonl)");
    assertLine(r.err(), "skipped", "Label calibration", "absent (label-eval.json)");
    assertLine(r.err(), "skipped", "Stage throughput", "absent (metrics.jsonl)");
    assertFalse(Files.exists(run.resolve("report")));
  }

  @Test
  void shouldFailWithExitCodeOneOnAMalformedLineWritingNothing() throws IOException {
    Path run = fullRun();
    write(run.resolve("label/comparisons.jsonl"), labelLine(0.8), "{\"prompt\": \"x\"}");
    CaiCli.Result r = cai("report", run.toString());
    assertEquals(1, r.code());
    assertTrue(r.err().contains(run.resolve("label/comparisons.jsonl") + ":2: missing \"p_chosen\""), r.err());
    assertFalse(Files.exists(run.resolve("report")), "nothing written");
  }

  @Test
  void shouldFailOnARunWithoutData() throws IOException {
    Path empty = Files.createDirectories(dir.resolve("empty"));
    CaiCli.Result r = cai("report", empty.toString());
    assertEquals(1, r.code());
    assertTrue(r.err().contains("No metrics to report in " + empty + ": looked for sl-train/train-metrics.jsonl"), r.err());

    CaiCli.Result missing = cai("report", dir.resolve("nope").toString());
    assertEquals(1, missing.code());
    assertTrue(missing.err().contains("Run directory " + dir.resolve("nope") + " does not exist"), missing.err());
  }

  @Test
  void shouldDescribeItself() {
    CaiCli.Result r = cai("report", "--help");
    assertEquals(0, r.code());
    assertTrue(r.out().contains("RUN_DIR") && r.out().contains("--out"), r.out());
    assertTrue(cai("--help").out().contains("report"));
  }

  @Test
  void shouldSmoothAndDropNonFinitePoints() {
    assertArrayEquals(new double[] {1, 1.5, 1.5, 2.25}, ReportCharts.ema(new double[] {1, 2, Double.NaN, 3}, 0.5));
    double[][] p = ReportCharts.finite(new double[] {1, 2, 3}, new double[] {0.5, Double.NaN, Double.POSITIVE_INFINITY});
    assertArrayEquals(new double[] {1}, p[0]);
    assertArrayEquals(new double[] {0.5}, p[1]);
  }
}
