package dev.cai.app;

import static dev.cai.app.CaiCli.cai;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cai.runtime.eval.Elo;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.train.TinyPreferenceModel;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code cai eval elo} on tiny random models: three "snapshots" (different seeds), a judge and a PM; input errors. */
class EvalCommandTest {
  @TempDir static Path dir;
  private static final List<String> NAMES = List.of("sl", "rl-a", "rl-b");
  private static final int PROMPTS = 3;
  private static List<Path> snapshots;
  private static Path judge;
  private static Path pm;

  @BeforeAll
  static void writeModels() throws Exception {
    snapshots = new ArrayList<>();
    for (int i = 0; i < NAMES.size(); i++) {
      Path p = dir.resolve("snapshot-" + i + ".gguf");
      TinyLlama.write(p, 10 + i, GgmlType.F32);
      snapshots.add(p);
    }
    judge = dir.resolve("judge.gguf");
    TinyLlama.write(judge, 20, GgmlType.F32);
    pm = TinyPreferenceModel.train(judge, dir);
  }


  private static String joined(List<Path> paths) {
    return String.join(",", paths.stream().map(Path::toString).toList());
  }

  @Test
  void shouldDescribeEveryOption() {
    CaiCli.Result r = cai("eval", "elo", "--help");
    assertEquals(0, r.code());
    for (String option : List.of("--snapshots", "--names", "--prompts", "--helpful-prompts", "--judge", "--out", "--samples",
        "--max-tokens", "--seed", "--bootstrap", "--pm", "--principles", "--device")) {
      assertTrue(r.out().contains(option), option);
    }
  }

  @Test
  void shouldRateThreeSnapshotsAndWriteEloJsonResponsesComparisonsAndAFrontierPng() throws Exception {
    Path out = dir.resolve("eval");
    long t0 = System.nanoTime();
    CaiCli.Result r = cai("eval", "elo", "--snapshots", joined(snapshots), "--names", String.join(",", NAMES), "--prompts",
        "builtin:red-team", "--helpful-prompts", "builtin:helpful", "--judge", judge.toString(), "--pm", pm.toString(),
        "--out", out.toString(), "--samples", String.valueOf(PROMPTS), "--max-tokens", "8", "--bootstrap", "200",
        "--device", "cpu");
    System.out.printf("cai eval elo on tiny models: %.1f s%n", (System.nanoTime() - t0) / 1e9);
    assertEquals(0, r.code(), r.err() + r.out());
    assertTrue(r.out().contains("comparisons      9 harmlessness, 9 helpfulness, 0 failed"), r.out());

    JsonObject elo = JsonParser.parseString(Files.readString(out.resolve("elo.json"), StandardCharsets.UTF_8)).getAsJsonObject();
    assertEquals("sl", elo.get("anchor").getAsString());
    assertEquals(PROMPTS, elo.getAsJsonObject("prompts").getAsJsonObject("red_team").get("count").getAsInt());
    assertEquals(PROMPTS, elo.getAsJsonObject("prompts").getAsJsonObject("helpful").get("count").getAsInt());
    assertTrue(elo.getAsJsonObject("principles").get("harmlessness").getAsString().contains("less harmful"));
    assertEquals(200, elo.getAsJsonObject("settings").get("bootstrap").getAsInt());
    // every pair of 3 snapshots on every prompt
    assertEquals(3 * PROMPTS, elo.getAsJsonObject("comparisons").get("harmlessness").getAsInt());
    assertEquals(3 * PROMPTS, elo.getAsJsonObject("comparisons").get("helpfulness").getAsInt());
    JsonArray snaps = elo.getAsJsonArray("snapshots");
    assertEquals(NAMES.size(), snaps.size());
    for (int i = 0; i < snaps.size(); i++) {
      JsonObject s = snaps.get(i).getAsJsonObject();
      assertEquals(NAMES.get(i), s.get("name").getAsString());
      assertEquals(snapshots.get(i).toAbsolutePath().normalize().toString(), s.get("path").getAsString());
      for (String d : List.of("harmlessness", "helpfulness")) {
        JsonObject rating = s.getAsJsonObject(d);
        double e = rating.get("elo").getAsDouble();
        assertTrue(rating.get("ci_low").getAsDouble() <= e && e <= rating.get("ci_high").getAsDouble(), d + " of " + s);
        assertEquals(2 * PROMPTS, rating.get("comparisons").getAsInt(), "each snapshot meets the other two on every prompt");
        if (i == 0) {
          assertEquals(0, e, 0);
          assertEquals(0, rating.get("ci_low").getAsDouble(), 0);
          assertEquals(0, rating.get("ci_high").getAsDouble(), 0);
        }
      }
      assertEquals(PROMPTS, s.getAsJsonObject("responses").get("red_team").getAsInt());
      assertEquals(PROMPTS, s.getAsJsonObject("responses").get("helpful").getAsInt());
      JsonObject pmStats = s.getAsJsonObject("pm");
      assertEquals(PROMPTS, pmStats.get("n").getAsInt());
      assertTrue(pmStats.get("min").getAsDouble() <= pmStats.get("median").getAsDouble()
          && pmStats.get("median").getAsDouble() <= pmStats.get("max").getAsDouble(), pmStats.toString());
      JsonObject ev = s.getAsJsonObject("evasiveness");
      assertEquals(PROMPTS, ev.get("responses").getAsInt());
      assertEquals(ev.get("evasive").getAsInt() / (double) PROMPTS, ev.get("rate").getAsDouble(), 1e-12);
    }

    // the ratings are the Elo fit of the judged comparisons written beside them
    List<String> lines = Files.readAllLines(out.resolve("comparisons.jsonl"), StandardCharsets.UTF_8);
    assertEquals(2 * 3 * PROMPTS, lines.size());
    Map<String, Integer> index = Map.of("sl", 0, "rl-a", 1, "rl-b", 2);
    for (String d : List.of("harmlessness", "helpfulness")) {
      List<Elo.Comparison> comparisons = new ArrayList<>();
      for (String line : lines) {
        JsonObject c = JsonParser.parseString(line).getAsJsonObject();
        if (c.get("dimension").getAsString().equals(d)) {
          double p = c.get("p_a").getAsDouble();
          assertEquals(0.5 * (c.get("p_a_forward").getAsDouble() + c.get("p_a_swapped_order").getAsDouble()), p, 1e-12);
          comparisons.add(new Elo.Comparison(index.get(c.get("a").getAsString()), index.get(c.get("b").getAsString()), p));
        }
      }
      double[] expected = Elo.toElo(Elo.fit(3, comparisons, Elo.DEFAULT_L2), 0);
      double[] written = new double[3];
      for (int i = 0; i < 3; i++) {
        written[i] = snaps.get(i).getAsJsonObject().getAsJsonObject(d).get("elo").getAsDouble();
      }
      assertArrayEquals(expected, written, 1e-9, d + ": " + Arrays.toString(written));
    }
    assertEquals(NAMES.size() * 2 * PROMPTS, Files.readAllLines(out.resolve("responses.jsonl"), StandardCharsets.UTF_8).size());

    Path png = out.resolve("elo-frontier.png");
    byte[] head = Arrays.copyOf(Files.readAllBytes(png), 8);
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, head);
    BufferedImage image = ImageIO.read(png.toFile());
    assertEquals(ReportCharts.WIDTH, image.getWidth());
    assertEquals(ReportCharts.HEIGHT, image.getHeight());
  }

  @Test
  void shouldDrawEachSnapshotAsAPointWithBothIntervalsAlongTheSnapshotOrder() throws Exception {
    List<ReportCharts.FrontierPoint> points = List.of(new ReportCharts.FrontierPoint("sl", 0, 0, 0, 0, 0, 0),
        new ReportCharts.FrontierPoint("rl-100", 40, 10, 70, 120, 80, 160),
        new ReportCharts.FrontierPoint("rl-200", 25, -5, 55, 210, 170, 250));
    org.knowm.xchart.XYChart chart = ReportCharts.eloFrontier(points, "sl");
    var series = chart.getSeriesMap();
    assertArrayEquals(new double[] {0, 40, 25}, series.get("snapshot order").getXData());
    assertArrayEquals(new double[] {0, 120, 210}, series.get("snapshot order").getYData());
    assertArrayEquals(new double[] {40}, series.get("rl-100").getXData());
    assertArrayEquals(new double[] {120}, series.get("rl-100").getYData());
    assertArrayEquals(new double[] {10, 70}, series.get("rl-100 (helpfulness CI)").getXData());
    assertArrayEquals(new double[] {120, 120}, series.get("rl-100 (helpfulness CI)").getYData());
    assertArrayEquals(new double[] {40, 40}, series.get("rl-100 (harmlessness CI)").getXData());
    assertArrayEquals(new double[] {80, 160}, series.get("rl-100 (harmlessness CI)").getYData());
    assertEquals(1 + 3 * points.size(), series.size());
    // axes cover every interval with 10% of the range (at least 10 Elo) to spare
    assertArrayEquals(new double[] {-25, 250 + 25}, ReportCharts.padded(new double[] {0, 250, 120}), 1e-12);
    assertArrayEquals(new double[] {-10, 10}, ReportCharts.padded(new double[] {0, 0}), 1e-12);
    Path png = ReportCharts.writePng(chart, dir.resolve("frontier.png"));
    assertEquals(ReportCharts.WIDTH, ImageIO.read(png.toFile()).getWidth());
  }

  @Test
  void shouldNameTheOptionOrFileOfEachInputError() {
    Path red = dir.resolve("red.jsonl");
    String one = snapshots.get(0).toString();
    CaiCli.Result usage = cai("eval", "elo", "--snapshots", one);
    assertEquals(2, usage.code());
    assertTrue(usage.err().contains("cai eval elo needs --snapshots, --prompts, --helpful-prompts, --judge and --out"),
        usage.err());

    assertError("--snapshots needs at least 2 model paths to compare, got 1", "--snapshots", one);
    assertError("--names gives 2 names for 3 --snapshots; give one name per snapshot", "--snapshots", joined(snapshots),
        "--names", "a,b");
    Path nope = dir.resolve("nope.gguf");
    assertError("Snapshot 2 " + nope + " does not exist (--snapshots)", "--snapshots", one + "," + nope);
    assertError("Snapshot name 'x' is used twice in --names", "--snapshots", joined(snapshots.subList(0, 2)), "--names", "x,x");
    assertError("Judge model " + nope + " does not exist (--judge)", "--snapshots", joined(snapshots), "--judge",
        nope.toString());
    assertError("--prompts: prompt file " + red + " does not exist", "--snapshots", joined(snapshots), "--prompts",
        red.toString());
    assertError("Preference model " + nope + " does not exist (--pm)", "--snapshots", joined(snapshots), "--pm",
        nope.toString());
    assertError("Judge principles file " + nope + " does not exist", "--snapshots", joined(snapshots), "--principles",
        nope.toString());
    Path empty = dir.resolve("empty.jsonl");
    assertError("--helpful-prompts: prompt file " + empty + " has no prompts", "--snapshots", joined(snapshots),
        "--helpful-prompts", write(empty, "\n").toString());
  }

  @Test
  void shouldNameSnapshotsAfterTheirFilesOrRunDirectories() throws Exception {
    assertEquals("snapshot-0", EvalCommand.EloCommand.defaultName(snapshots.get(0)));
    assertEquals("sl-train", EvalCommand.EloCommand.defaultName(dir.resolve("run/sl-train/model")));
    assertEquals(List.of("snapshot-0", "snapshot-1"), EvalCommand.EloCommand.snapshots(snapshots.subList(0, 2), List.of())
        .stream().map(EloEvaluation.Snapshot::name).toList());
  }

  private static Path write(Path file, String text) {
    try {
      return Files.writeString(file, text, StandardCharsets.UTF_8);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Runs {@code cai eval elo} with valid defaults overridden by {@code args} and expects exit 1 with {@code message}. */
  private static void assertError(String message, String... args) {
    Map<String, String> options = new java.util.LinkedHashMap<>(Map.of("--prompts", "builtin:red-team", "--helpful-prompts",
        "builtin:helpful", "--judge", judge.toString(), "--out", dir.resolve("errors").toString()));
    for (int i = 0; i < args.length; i += 2) {
      options.put(args[i], args[i + 1]);
    }
    List<String> line = new ArrayList<>(List.of("eval", "elo"));
    options.forEach((k, v) -> line.addAll(List.of(k, v)));
    CaiCli.Result r = cai(line.toArray(String[]::new));
    assertEquals(1, r.code(), r.err());
    assertTrue(r.err().contains(message), r.err());
  }
}
