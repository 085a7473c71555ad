package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code cai report}: parsing of each metrics file, its errors, and the PNG files written. */
class ReportCommandTest {
  @TempDir Path dir;

  private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  /** Exit code, stdout and stderr of one command line. */
  private record Result(int code, String out, String err) {}

  private static Result cai(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int code = cl.execute(args);
    return new Result(code, out.toString(), err.toString());
  }

  /** Asserts that {@code text} has the line {@code STATUS  SOURCE  NOTE} (any spacing). */
  private static void assertLine(String text, String status, String source, String note) {
    Pattern line = Pattern.compile(Pattern.quote(status) + " +" + Pattern.quote(source) + " +" + Pattern.quote(note));
    assertTrue(text.lines().anyMatch(l -> line.matcher(l).matches()), status + " " + source + " " + note + " in:\n" + text);
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

  /** A run with every source: 3 SFT steps, 2 PM steps, 3 PPO updates under rl/, 5 labels. */
  private Path fullRun() throws IOException {
    Path run = dir.resolve("run");
    write(run.resolve("sl-train/train-metrics.jsonl"), trainLine(1, 1.86), trainLine(2, 1.61), trainLine(3, 1.42));
    write(run.resolve("pm/train-metrics.jsonl"), trainLine(1, 0.74), trainLine(2, 0.73));
    write(run.resolve("rl/rl-metrics.jsonl"), rlLine(1, -0.2, 0.0), rlLine(2, 0.1, 0.02), rlLine(3, 0.4, 0.05));
    write(run.resolve("label/comparisons.jsonl"), labelLine(0.5), labelLine(0.62), labelLine(0.97), labelLine(1.0),
        labelLine(0.71));
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
    Result r = cai("report", run.toString());
    assertEquals(0, r.code(), r.err());
    Path report = run.resolve("report");
    List<Path> expected = List.of("sft-loss.png", "pm-loss.png", "ppo-score-kl.png", "ppo-diagnostics.png",
        "label-p-chosen.png").stream().map(report::resolve).toList();
    assertEquals(expected.stream().map(Path::toString).collect(Collectors.joining(System.lineSeparator()))
        + System.lineSeparator(), r.out());
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
    try (var files = Files.list(report)) {
      assertEquals(5, files.count(), "no temporary files left");
    }
  }

  @Test
  void shouldSkipAbsentSourcesAndWriteToOut() throws IOException {
    Path run = dir.resolve("rl-only");
    write(run.resolve("rl-metrics.jsonl"), IntStream.rangeClosed(1, 30).mapToObj(v -> rlLine(v, 0.01 * v, 0.001 * v))
        .toArray(String[]::new));
    write(run.resolve("pm/train-metrics.jsonl"), "");
    Path out = dir.resolve("charts");
    Result r = cai("report", run.toString(), "--out", out.toString());
    assertEquals(0, r.code(), r.err());
    assertEquals(List.of(out.resolve("ppo-score-kl.png").toString(), out.resolve("ppo-diagnostics.png").toString()),
        r.out().lines().toList());
    assertLine(r.err(), "skipped", "SFT loss", "absent (sl-train/train-metrics.jsonl)");
    assertLine(r.err(), "skipped", "PM loss", run.resolve("pm/train-metrics.jsonl") + " has no lines");
    assertLine(r.err(), "found", "PPO metrics", run.resolve("rl-metrics.jsonl") + " (30 updates)");
    assertLine(r.err(), "skipped", "AI-feedback labels", "absent (label/comparisons.jsonl or comparisons.jsonl)");
    assertFalse(Files.exists(run.resolve("report")));
  }

  @Test
  void shouldFailWithExitCodeOneOnAMalformedLineWritingNothing() throws IOException {
    Path run = fullRun();
    write(run.resolve("label/comparisons.jsonl"), labelLine(0.8), "{\"prompt\": \"x\"}");
    Result r = cai("report", run.toString());
    assertEquals(1, r.code());
    assertTrue(r.err().contains(run.resolve("label/comparisons.jsonl") + ":2: missing \"p_chosen\""), r.err());
    assertFalse(Files.exists(run.resolve("report")), "nothing written");
  }

  @Test
  void shouldFailOnARunWithoutData() throws IOException {
    Path empty = Files.createDirectories(dir.resolve("empty"));
    Result r = cai("report", empty.toString());
    assertEquals(1, r.code());
    assertTrue(r.err().contains("No metrics to report in " + empty + ": looked for sl-train/train-metrics.jsonl"), r.err());

    Result missing = cai("report", dir.resolve("nope").toString());
    assertEquals(1, missing.code());
    assertTrue(missing.err().contains("Run directory " + dir.resolve("nope") + " does not exist"), missing.err());
  }

  @Test
  void shouldDescribeItself() {
    Result r = cai("report", "--help");
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
