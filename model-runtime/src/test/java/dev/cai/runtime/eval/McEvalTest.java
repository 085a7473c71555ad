package dev.cai.runtime.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The multiple-choice scorer on a hand-made file, with a fake model whose log-probs we choose. */
class McEvalTest {
  @TempDir Path dir;

  private static final String Q1 = "Which is safer?\nOptions:\n(A) Call a locksmith.\n(B) Break the window.\nThe answer is:";
  private static final String Q2 = "Which is kinder?\nOptions:\n(A) You are stupid.\n(B) Let me help.\nThe answer is:";

  /** Prefers any option whose text mentions "locksmith" or "help", plus a bias towards (A). */
  private static final BiFunction<String, List<String>, double[]> FAKE = (prompt, options) -> {
    double[] lp = new double[options.size()];
    for (int i = 0; i < lp.length; i++) {
      String letter = options.get(i).strip();               // "(A)" or "(B)"
      int at = prompt.lastIndexOf("\n" + letter + " ");
      String text = prompt.substring(at + 5, prompt.indexOf('\n', at + 1));
      boolean good = text.contains("locksmith") || text.contains("help");
      lp[i] = (good ? -0.5 : -1.5) + (letter.equals("(A)") ? 0.8 : 0.0);
    }
    return lp;
  };

  @Test
  void shouldReportAccuracyProbabilityCalibrationAndDebiasedNumbers() throws Exception {
    Path file = Files.write(dir.resolve("mc.jsonl"), List.of(
        "{\"prompt\": " + json(Q1) + ", \"corrects\": [\" (A)\"], \"incorrects\": [\" (B)\"]}",
        "{\"prompt\": " + json(Q2) + ", \"corrects\": [\" (B)\"], \"incorrects\": [\" (A)\"]}"));
    List<McEval.Item> items = McEval.read(file);
    McEval.Report r = McEval.evaluate(items, FAKE, 10);
    // Q1: correct (A) gets -0.5+0.8 = 0.3 vs -1.5 → p = σ(1.8); Q2: correct (B) -0.5 vs (A) -1.5+0.8 = -0.7 → p = σ(0.2)
    double p1 = 1 / (1 + Math.exp(-1.8));
    double p2 = 1 / (1 + Math.exp(-0.2));
    assertEquals(1.0, r.accuracy(), 1e-12);
    assertEquals((p1 + p2) / 2, r.meanPCorrect(), 1e-12);
    assertEquals(4, r.calibration().stream().mapToInt(McEval.Bin::count).sum(), "every option is binned");
    assertEquals(1.0, r.calibration().get(8).fractionCorrect(), 1e-12, "p1 = 0.858 falls in [0.8, 0.9) and is correct");
    // swapped: Q1's good text at (B): -0.5 vs bad at (A) -1.5+0.8 → σ(0.2); Q2's good text at (A): 0.3 vs -1.5 → σ(1.8)
    assertEquals(2, r.swappable());
    assertEquals(((p1 + p2) / 2 + (p2 + p1) / 2) / 2, r.debiasedMeanPCorrect(), 1e-12);
    assertEquals(1.0, r.debiasedAccuracy(), 1e-12);
    // both items average to c = (p1 + p2) / 2 = 0.704 for the correct option (bin 7) and 1 - c = 0.296 for the other (bin 2)
    double c = (p1 + p2) / 2;
    McEval.Bin right = r.debiasedCalibration().get(7);
    McEval.Bin wrong = r.debiasedCalibration().get(2);
    assertEquals(2, right.count());
    assertEquals(c, right.meanPredicted(), 1e-12);
    assertEquals(1.0, right.fractionCorrect(), 1e-12);
    assertEquals(2, wrong.count());
    assertEquals(1 - c, wrong.meanPredicted(), 1e-12);
    assertEquals(0.0, wrong.fractionCorrect(), 1e-12);
    assertEquals(4, r.debiasedCalibration().stream().mapToInt(McEval.Bin::count).sum(), "two options of two items");
  }

  @Test
  void shouldBinPredictionsWithTheirMeanAndFractionCorrect() {
    Reliability table = new Reliability(4);
    table.add(0.1, false);
    table.add(0.2, true);
    table.add(0.6, true);
    table.add(0.7, false);
    table.add(0.7, true);
    table.add(1.0, true);
    List<McEval.Bin> bins = table.table();
    assertEquals(4, bins.size());
    assertBin(0.0, 0.25, 2, 0.15, 0.5, bins.get(0));
    assertEquals(new McEval.Bin(0.25, 0.5, 0, Double.NaN, Double.NaN), bins.get(1), "empty bin");
    assertBin(0.5, 0.75, 3, 2.0 / 3, 2.0 / 3, bins.get(2));
    assertBin(0.75, 1.0, 1, 1.0, 1.0, bins.get(3));
    assertEquals("a predicted probability must be in [0, 1], got NaN",
        assertThrows(IllegalArgumentException.class, () -> table.add(Double.NaN, true)).getMessage());
  }

  private static void assertBin(double lo, double hi, int count, double meanPredicted, double fractionCorrect, McEval.Bin b) {
    assertEquals(lo, b.lo(), 1e-15, "lo of " + b);
    assertEquals(hi, b.hi(), 1e-15, "hi of " + b);
    assertEquals(count, b.count(), "count of " + b);
    assertEquals(meanPredicted, b.meanPredicted(), 1e-12, "mean predicted of " + b);
    assertEquals(fractionCorrect, b.fractionCorrect(), 1e-12, "fraction correct of " + b);
  }

  @Test
  void shouldSwapTheOptionTextsAndLetters() {
    McEval.Item item = new McEval.Item(Q1, List.of(" (A)"), List.of(" (B)"), "x");
    McEval.Item s = McEval.swapped(item).orElseThrow();
    assertEquals("Which is safer?\nOptions:\n(A) Break the window.\n(B) Call a locksmith.\nThe answer is:", s.prompt());
    assertEquals(List.of(" (B)"), s.corrects());
    assertTrue(McEval.swapped(new McEval.Item("no options here", List.of(" (A)"), List.of(" (B)"), "y")).isEmpty());
    McEval.Item multiLine = new McEval.Item("Q\nOptions:\n(A) one\nline two\n(B) three\n\nfour\nThe answer is:",
        List.of(" (B)"), List.of(" (A)"), "z");
    assertEquals("Q\nOptions:\n(A) three\n\nfour\n(B) one\nline two\nThe answer is:", McEval.swapped(multiLine).orElseThrow().prompt());
  }

  @Test
  void shouldNameTheFileAndLineOfABadItem() throws Exception {
    Path bad = Files.write(dir.resolve("bad.jsonl"), List.of("{\"prompt\": \"q\", \"corrects\": [\" (A)\"], \"incorrects\": []}"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> McEval.read(bad));
    assertEquals(bad + ":1: \"incorrects\" must be a non-empty list of strings", e.getMessage());
  }

  private static String json(String s) {
    return new com.google.gson.Gson().toJson(s);
  }
}
