package dev.cai.app;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.cai.runtime.eval.McEval;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * Typed series read from the metrics files of a run, for {@code cai report}: pure functions of the file contents, no
 * rendering. Every JSONL reader skips blank lines and fails on a malformed line with {@code FILE:LINE: problem}; the
 * one JSON file ({@code label-eval.json}) fails with {@code FILE: problem} naming the key.
 */
final class MetricsSeries {
  private MetricsSeries() {}

  /** A malformed metrics line: the message is {@code FILE:LINE: problem}. */
  static final class MalformedLineException extends IllegalArgumentException {
    MalformedLineException(Path file, int line, String problem) {
      super(file + ":" + line + ": " + problem);
    }
  }

  /** The loss curve of one training run ({@code train-metrics.jsonl}, SFT or PM): one point per optimizer step. */
  record TrainCurve(Path file, double[] step, double[] loss, double[] gradNorm, double[] lr) {
    /** Number of optimizer steps read. */
    int size() {
      return step.length;
    }
  }

  /** The PPO diagnostics ({@code rl-metrics.jsonl}): one point per update, indexed by policy version. */
  record PpoCurves(Path file, double[] version, double[] score, double[] kl, double[] klCoef, double[] approxKl,
      double[] clipFraction, double[] entropy, double[] valueLoss, double[] explainedVariance, double[] responseLength,
      double[] eosRate) {
    /** Number of PPO updates read. */
    int size() {
      return version.length;
    }
  }

  /** The soft labels of a labeling run ({@code comparisons.jsonl}): {@code p_chosen} of every comparison. */
  record Labels(Path file, double[] pChosen) {
    /** Number of comparisons read. */
    int size() {
      return pChosen.length;
    }

    /** Mean of {@code p_chosen}, NaN when there is none. */
    double mean() {
      double sum = 0;
      for (double p : pChosen) {
        sum += p;
      }
      return pChosen.length == 0 ? Double.NaN : sum / pChosen.length;
    }
  }

  /** One stage in one line of {@code metrics.jsonl}: counts since its command began, and its buffer fill (NaN: unknown). */
  record StageReading(String graph, String stage, double elements, double tokens, double bufferFill) {
    /** {@code graph/stage}, the name of the stage in the report. */
    String key() {
      return graph + "/" + stage;
    }
  }

  /** One line of {@code RUN_DIR/metrics.jsonl}: what the report uses of it (models and memory are not read). */
  record RunLine(int number, double timeMs, String phase, double phaseStartMs, List<StageReading> stages) {
    /** Whether {@code next} continues this line's command: same phase, and the same start when both lines have one. */
    boolean sameCommand(RunLine next) {
      return phase.equals(next.phase()) && (Double.isNaN(phaseStartMs) || Double.isNaN(next.phaseStartMs())
          || phaseStartMs == next.phaseStartMs());
    }
  }

  /**
   * The rates of one stage over the interval of {@code seconds} that ends at {@code minutes} (since the file's first line);
   * {@code segment} numbers the runs of consecutive lines of one phase (one command), so that a chart does not join two
   * commands.
   */
  record StageRate(String phase, String stage, int segment, double minutes, double seconds, double elementsPerSec,
      double tokensPerSec) {}

  /** The buffer fill (in flight / capacity) of one stage at {@code minutes}; NaN where the writer did not know it. */
  record StageFill(String phase, String stage, int segment, double minutes, double bufferFill) {}

  /**
   * One stage of one phase over the whole file: elements and tokens finished (summed over the phase's commands), the
   * seconds between its consecutive lines, the mean rates over them (Δcount / Δtime, so NaN without two lines) and the
   * mean of its known buffer fills.
   */
  record StageSummary(String phase, String stage, double elements, double tokens, double seconds, double elementsPerSec,
      double tokensPerSec, double meanBufferFill) {}

  /** Stage throughput of a run ({@code metrics.jsonl}): rates and fills over time, and the per-stage summary. */
  record Throughput(Path file, int lines, List<StageRate> rates, List<StageFill> fills, List<StageSummary> summary) {}

  /**
   * A multiple-choice evaluation of the labeler ({@code label-eval.json}, as {@code cai label eval --out} writes it):
   * the raw and the (A)/(B)-swapped-and-averaged reliability tables. NaN for a number written as null.
   */
  record LabelEval(Path file, String mcFile, int items, double accuracy, int swappable, double debiasedAccuracy,
      List<McEval.Bin> raw, List<McEval.Bin> debiased) {}

  /** One parsed line: its 1-based number and its object. */
  record Line(int number, JsonObject object) {}

  /** Reads {@code train-metrics.jsonl} (fields {@code step}, {@code loss}, {@code grad_norm}, {@code lr} required). */
  static TrainCurve trainCurve(Path file) {
    List<Line> lines = readObjects(file);
    int n = lines.size();
    double[] step = new double[n];
    double[] loss = new double[n];
    double[] gradNorm = new double[n];
    double[] lr = new double[n];
    for (int i = 0; i < n; i++) {
      Line l = lines.get(i);
      step[i] = number(file, l, "step");
      loss[i] = number(file, l, "loss");
      gradNorm[i] = number(file, l, "grad_norm");
      lr[i] = number(file, l, "lr");
    }
    return new TrainCurve(file, step, loss, gradNorm, lr);
  }

  /** Reads {@code rl-metrics.jsonl} (the fields {@link dev.cai.actors.RlMetrics#line} writes that the report plots). */
  static PpoCurves ppoCurves(Path file) {
    List<Line> lines = readObjects(file);
    int n = lines.size();
    String[] keys = {"version", "score", "kl", "kl_coef", "approx_kl", "clip_fraction", "entropy", "value_loss",
        "explained_variance", "response_length", "eos_rate"};
    double[][] cols = new double[keys.length][n];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < keys.length; k++) {
        cols[k][i] = number(file, lines.get(i), keys[k]);
      }
    }
    return new PpoCurves(file, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8], cols[9],
        cols[10]);
  }

  /** Reads {@code comparisons.jsonl}: {@code p_chosen} of each line, which must lie in [0, 1]. */
  static Labels labels(Path file) {
    List<Line> lines = readObjects(file);
    double[] p = new double[lines.size()];
    for (int i = 0; i < p.length; i++) {
      Line l = lines.get(i);
      p[i] = number(file, l, "p_chosen");
      if (!(p[i] >= 0 && p[i] <= 1)) {
        throw new MalformedLineException(file, l.number(), "\"p_chosen\" must be in [0, 1], got " + p[i]);
      }
    }
    return new Labels(file, p);
  }

  /**
   * Reads {@code RUN_DIR/metrics.jsonl} (docs: the monitor contract): {@code time_ms}, {@code phase}, and per stage
   * {@code graph}, {@code stage}, {@code elements} and {@code tokens} (finite, &ge; 0), {@code buffer_fill} (null or in
   * [0, 1]); a stage named twice in a line fails.
   */
  static List<RunLine> runLines(Path file) {
    List<RunLine> out = new ArrayList<>();
    for (Line l : readObjects(file)) {
      double time = number(file, l.number(), l.object(), "", "time_ms");
      if (!Double.isFinite(time)) {
        throw new MalformedLineException(file, l.number(), "\"time_ms\" must be finite, got " + time);
      }
      String phase = string(file, l.number(), l.object(), "", "phase");
      // optional: tells two runs of one command apart (a resumed sl generate restarts its counts)
      double phaseStart = l.object().has("phase_start_ms") ? number(file, l.number(), l.object(), "", "phase_start_ms")
          : Double.NaN;
      JsonElement st = l.object().get("stages");
      if (st == null || !st.isJsonArray()) {
        throw new MalformedLineException(file, l.number(), "\"stages\" must be an array");
      }
      List<StageReading> stages = new ArrayList<>();
      Set<String> seen = new HashSet<>();
      for (int i = 0; i < st.getAsJsonArray().size(); i++) {
        String where = "stages[" + i + "].";
        JsonElement e = st.getAsJsonArray().get(i);
        if (!e.isJsonObject()) {
          throw new MalformedLineException(file, l.number(), "\"stages[" + i + "]\" must be an object");
        }
        JsonObject o = e.getAsJsonObject();
        StageReading r = new StageReading(string(file, l.number(), o, where, "graph"), string(file, l.number(), o, where,
            "stage"), count(file, l.number(), o, where, "elements"), count(file, l.number(), o, where, "tokens"),
            fraction(file, l.number(), o, where, "buffer_fill"));
        if (!seen.add(r.key())) {
          throw new MalformedLineException(file, l.number(), "stage " + r.key() + " appears twice");
        }
        stages.add(r);
      }
      out.add(new RunLine(l.number(), time, phase, phaseStart, stages));
    }
    return out;
  }

  /** Reads {@code metrics.jsonl} and computes its {@link #throughput(Path, List) throughput}. */
  static Throughput throughput(Path file) {
    return throughput(file, runLines(file));
  }

  /**
   * Per-stage throughput between consecutive lines of the same phase: elements/s = Δelements / Δt and tokens/s =
   * Δtokens / Δt. The counts restart when the phase changes from one line to the next (a new command); within a phase a
   * count that goes down fails, naming the line, and {@code time_ms} must not go back (an interval of 0 ms has no rate). A stage
   * absent from the previous line of its phase gets no rate for that interval. Minutes count from the first line.
   */
  static Throughput throughput(Path file, List<RunLine> lines) {
    List<StageRate> rates = new ArrayList<>();
    List<StageFill> fills = new ArrayList<>();
    Map<String, SummaryAcc> acc = new LinkedHashMap<>();
    RunLine prev = null;
    int segment = -1;
    for (RunLine line : lines) {
      if (prev != null && line.timeMs() < prev.timeMs()) {
        throw new MalformedLineException(file, line.number(), "\"time_ms\" must not go back: " + fmt(line.timeMs())
            + " is before " + fmt(prev.timeMs()) + " (line " + prev.number() + ")");
      }
      boolean samePhase = prev != null && prev.sameCommand(line);
      segment += samePhase ? 0 : 1;
      Map<String, StageReading> before = new HashMap<>();
      if (samePhase) {
        prev.stages().forEach(s -> before.put(s.key(), s));
      }
      double minutes = (line.timeMs() - lines.get(0).timeMs()) / 60_000.0;
      double seconds = samePhase ? (line.timeMs() - prev.timeMs()) / 1000.0 : Double.NaN;
      for (StageReading s : line.stages()) {
        SummaryAcc a = acc.computeIfAbsent(line.phase() + "\u0000" + s.key(), k -> new SummaryAcc(line.phase(), s.key()));
        fills.add(new StageFill(line.phase(), s.key(), segment, minutes, s.bufferFill()));
        if (Double.isFinite(s.bufferFill())) {
          a.fillSum += s.bufferFill();
          a.fills++;
        }
        StageReading b = before.get(s.key());
        double dElements = s.elements() - (b == null ? 0 : b.elements());
        double dTokens = s.tokens() - (b == null ? 0 : b.tokens());
        if (b != null) {
          if (dElements < 0 || dTokens < 0) {
            String what = dElements < 0 ? "elements" : "tokens";
            throw new MalformedLineException(file, line.number(), "\"" + what + "\" of stage " + s.key() + " went down "
                + "within phase " + line.phase() + ": " + fmt(dElements < 0 ? b.elements() : b.tokens()) + " (line "
                + prev.number() + ") to " + fmt(dElements < 0 ? s.elements() : s.tokens()));
          }
          if (seconds > 0) { // two lines in the same millisecond (a periodic one and the last) give no rate
            rates.add(new StageRate(line.phase(), s.key(), segment, minutes, seconds, dElements / seconds,
                dTokens / seconds));
            a.rateElements += dElements;
            a.rateTokens += dTokens;
            a.seconds += seconds;
          }
        }
        a.elements += dElements;
        a.tokens += dTokens;
      }
      prev = line;
    }
    List<StageSummary> summary = acc.values().stream().map(SummaryAcc::summary).toList();
    return new Throughput(file, lines.size(), rates, fills, summary);
  }

  /**
   * Each rate replaced by the mean over the trailing {@code windowSeconds}: Δcount / Δt over the intervals of the same
   * stage and command that end less than the window before it (itself included), i.e. their time-weighted mean rate. A
   * bursty stage (a batch a minute, sampled every 10 s) reads as a level instead of spikes.
   */
  static List<StageRate> trailingRates(List<StageRate> rates, double windowSeconds) {
    List<StageRate> out = new ArrayList<>(rates);
    for (List<Integer> group : groups(rates, StageRate::stage, StageRate::segment)) {
      double[] t = new double[group.size()];
      double[] dt = new double[t.length];
      double[] elements = new double[t.length];
      double[] tokens = new double[t.length];
      for (int i = 0; i < t.length; i++) {
        StageRate r = rates.get(group.get(i));
        t[i] = r.minutes() * 60;
        dt[i] = r.seconds();
        elements[i] = r.elementsPerSec();
        tokens[i] = r.tokensPerSec();
      }
      double[] e = trailingMean(t, elements, dt, windowSeconds);
      double[] k = trailingMean(t, tokens, dt, windowSeconds);
      for (int i = 0; i < t.length; i++) {
        StageRate r = rates.get(group.get(i));
        out.set(group.get(i), new StageRate(r.phase(), r.stage(), r.segment(), r.minutes(), r.seconds(), e[i], k[i]));
      }
    }
    return out;
  }

  /** Each buffer fill replaced by the mean of the known fills of the same stage and command in the trailing window. */
  static List<StageFill> trailingFills(List<StageFill> fills, double windowSeconds) {
    List<StageFill> out = new ArrayList<>(fills);
    for (List<Integer> group : groups(fills, StageFill::stage, StageFill::segment)) {
      double[] t = new double[group.size()];
      double[] fill = new double[t.length];
      double[] weight = new double[t.length];
      for (int i = 0; i < t.length; i++) {
        StageFill f = fills.get(group.get(i));
        t[i] = f.minutes() * 60;
        fill[i] = f.bufferFill();
        weight[i] = Double.isFinite(f.bufferFill()) ? 1 : 0;
      }
      double[] mean = trailingMean(t, fill, weight, windowSeconds);
      for (int i = 0; i < t.length; i++) {
        StageFill f = fills.get(group.get(i));
        out.set(group.get(i), new StageFill(f.phase(), f.stage(), f.segment(), f.minutes(), mean[i]));
      }
    }
    return out;
  }

  /**
   * At each i, Σ w·v / Σ w over the points j &le; i with t[j] &gt; t[i] − window ({@code t} increasing); points of weight
   * 0 are left out, NaN when none is left.
   */
  static double[] trailingMean(double[] t, double[] v, double[] w, double window) {
    double[] out = new double[t.length];
    for (int i = 0; i < t.length; i++) {
      double num = 0;
      double den = 0;
      for (int j = i; j >= 0 && t[j] > t[i] - window; j--) {
        if (w[j] > 0) {
          num += w[j] * v[j];
          den += w[j];
        }
      }
      out[i] = den > 0 ? num / den : Double.NaN;
    }
    return out;
  }

  /** The indices of {@code rows} grouped by stage and segment, each group in row order. */
  private static <T> Collection<List<Integer>> groups(List<T> rows, Function<T, String> stage, ToIntFunction<T> segment) {
    Map<String, List<Integer>> groups = new LinkedHashMap<>();
    for (int i = 0; i < rows.size(); i++) {
      T r = rows.get(i);
      groups.computeIfAbsent(stage.apply(r) + "\u0000" + segment.applyAsInt(r), k -> new ArrayList<>()).add(i);
    }
    return groups.values();
  }

  /** Running sums of one phase/stage for its {@link StageSummary}. */
  private static final class SummaryAcc {
    final String phase;
    final String stage;
    double elements;
    double tokens;
    double rateElements;
    double rateTokens;
    double seconds;
    double fillSum;
    int fills;

    SummaryAcc(String phase, String stage) {
      this.phase = phase;
      this.stage = stage;
    }

    StageSummary summary() {
      return new StageSummary(phase, stage, elements, tokens, seconds,
          seconds > 0 ? rateElements / seconds : Double.NaN, seconds > 0 ? rateTokens / seconds : Double.NaN,
          fills > 0 ? fillSum / fills : Double.NaN);
    }
  }

  /**
   * Reads {@code label-eval.json} (the format {@link McEvalCommand#toJson} writes); a blank file gives empty. Problems
   * fail with {@code FILE: problem}.
   */
  static Optional<LabelEval> labelEval(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + file + ": " + e.getMessage(), e);
    }
    if (text.isBlank()) {
      return Optional.empty();
    }
    JsonElement root;
    try {
      root = JsonParser.parseString(text);
    } catch (JsonParseException ex) {
      throw new IllegalArgumentException(file + ": not JSON: " + rootMessage(ex));
    }
    if (!root.isJsonObject()) {
      throw new IllegalArgumentException(file + ": expected a JSON object");
    }
    JsonObject o = root.getAsJsonObject();
    JsonElement mc = o.get("mc_file");
    int items = (int) integer(file, o, "", "items");
    if (items < 1) {
      throw new IllegalArgumentException(file + ": \"items\" must be at least 1, got " + items);
    }
    double accuracy = probability(file, o, "", "accuracy", false);
    int swappable = (int) integer(file, o, "", "swappable");
    double debiasedAccuracy = probability(file, o, "", "debiased_accuracy", true);
    JsonElement cal = o.get("calibration");
    if (cal == null || !cal.isJsonObject()) {
      throw new IllegalArgumentException(file + ": \"calibration\" must be an object {\"raw\": [...], \"debiased\": [...]}");
    }
    return Optional.of(new LabelEval(file, mc != null && mc.isJsonPrimitive() ? mc.getAsString() : "",
        items, accuracy, swappable, debiasedAccuracy, calibrationBins(file, cal.getAsJsonObject(), "raw"),
        calibrationBins(file, cal.getAsJsonObject(), "debiased")));
  }

  private static List<McEval.Bin> calibrationBins(Path file, JsonObject cal, String key) {
    JsonElement a = cal.get(key);
    if (a == null || !a.isJsonArray()) {
      throw new IllegalArgumentException(file + ": \"calibration." + key + "\" must be an array of bins");
    }
    List<McEval.Bin> bins = new ArrayList<>();
    for (int i = 0; i < a.getAsJsonArray().size(); i++) {
      String where = "calibration." + key + "[" + i + "].";
      JsonElement e = a.getAsJsonArray().get(i);
      if (!e.isJsonObject()) {
        throw new IllegalArgumentException(file + ": \"" + where.substring(0, where.length() - 1) + "\" must be an object");
      }
      JsonObject b = e.getAsJsonObject();
      double lo = probability(file, b, where, "lo", false);
      double hi = probability(file, b, where, "hi", false);
      if (!(lo < hi)) {
        throw new IllegalArgumentException(file + ": \"" + where + "lo\" must be below \"" + where + "hi\", got " + lo
            + " and " + hi);
      }
      long count = integer(file, b, where, "count");
      boolean empty = count == 0;
      bins.add(new McEval.Bin(lo, hi, (int) count, probability(file, b, where, "mean_predicted", empty),
          probability(file, b, where, "accuracy", empty)));
    }
    return bins;
  }

  /** A number in [0, 1] under {@code key} of {@code o}; null gives NaN when {@code nullable}. */
  private static double probability(Path file, JsonObject o, String where, String key, boolean nullable) {
    JsonElement e = o.get(key);
    if (nullable && e != null && e.isJsonNull()) {
      return Double.NaN;
    }
    double v = jsonNumber(e).orElseThrow(() -> new IllegalArgumentException(file + ": " + (e == null || e.isJsonNull()
        ? "missing \"" + where + key + "\"" : "\"" + where + key + "\" is not a number: " + abbreviate(e.toString()))));
    if (!(v >= 0 && v <= 1)) {
      throw new IllegalArgumentException(file + ": \"" + where + key + "\" must be in [0, 1], got " + v);
    }
    return v;
  }

  /** A whole number &ge; 0 under {@code key} of {@code o}. */
  private static long integer(Path file, JsonObject o, String where, String key) {
    JsonElement e = o.get(key);
    double v = jsonNumber(e).orElseThrow(() -> new IllegalArgumentException(file + ": " + (e == null || e.isJsonNull()
        ? "missing \"" + where + key + "\"" : "\"" + where + key + "\" is not a number: " + abbreviate(e.toString()))));
    if (!(v >= 0 && v == Math.rint(v))) {
      throw new IllegalArgumentException(file + ": \"" + where + key + "\" must be a whole number >= 0, got " + v);
    }
    return (long) v;
  }

  private static Optional<Double> jsonNumber(JsonElement e) {
    return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()
        ? Optional.of(e.getAsDouble()) : Optional.empty();
  }

  /**
   * Counts {@code values} in {@code bins} equal bins over [lo, hi]; the last bin includes {@code hi}, values outside the
   * range or not finite are not counted.
   */
  static int[] histogram(double[] values, double lo, double hi, int bins) {
    if (bins < 1 || !(hi > lo)) {
      throw new IllegalArgumentException("histogram needs bins >= 1 and hi > lo, got " + bins + " bins over [" + lo + ", "
          + hi + "]");
    }
    int[] counts = new int[bins];
    for (double v : values) {
      if (v >= lo && v <= hi) {
        counts[Math.min(bins - 1, (int) ((v - lo) / (hi - lo) * bins))]++;
      }
    }
    return counts;
  }

  /** The non-blank lines of a JSONL file as objects; a line that is not a JSON object fails with its number. */
  static List<Line> readObjects(Path file) {
    List<String> text;
    try {
      text = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + file + ": " + e.getMessage(), e);
    }
    List<Line> out = new ArrayList<>();
    for (int i = 0; i < text.size(); i++) {
      String s = text.get(i);
      if (s.isBlank()) {
        continue;
      }
      JsonElement e;
      try {
        e = JsonParser.parseString(s);
      } catch (JsonParseException ex) {
        throw new MalformedLineException(file, i + 1, "not JSON: " + rootMessage(ex));
      }
      if (!e.isJsonObject()) {
        throw new MalformedLineException(file, i + 1, "expected a JSON object, got " + abbreviate(s));
      }
      out.add(new Line(i + 1, e.getAsJsonObject()));
    }
    return out;
  }

  /** The number under {@code key}; NaN and ±Infinity (as Gson writes them) are accepted, anything else fails. */
  static double number(Path file, Line line, String key) {
    return number(file, line.number(), line.object(), "", key);
  }

  /**
   * The number under {@code key} of {@code o}, an object at {@code where} (a prefix such as {@code "stages[2]."}) in line
   * {@code line}; as {@link #number(Path, Line, String)}.
   */
  static double number(Path file, int line, JsonObject o, String where, String key) {
    JsonElement e = o.get(key);
    if (e == null || e.isJsonNull()) {
      throw new MalformedLineException(file, line, "missing \"" + where + key + "\"");
    }
    if (e.isJsonPrimitive()) {
      JsonPrimitive p = e.getAsJsonPrimitive();
      if (p.isNumber()) {
        return p.getAsDouble();
      }
      if (p.isString()) {
        switch (p.getAsString()) {
          case "NaN":
            return Double.NaN;
          case "Infinity":
            return Double.POSITIVE_INFINITY;
          case "-Infinity":
            return Double.NEGATIVE_INFINITY;
          default:
            break;
        }
      }
    }
    throw new MalformedLineException(file, line, "\"" + where + key + "\" is not a number: " + abbreviate(e.toString()));
  }

  /** A counter under {@code key}: a finite number &ge; 0. */
  private static double count(Path file, int line, JsonObject o, String where, String key) {
    double v = number(file, line, o, where, key);
    if (!(v >= 0 && Double.isFinite(v))) {
      throw new MalformedLineException(file, line, "\"" + where + key + "\" must be a finite count >= 0, got " + v);
    }
    return v;
  }

  /** A fraction under {@code key}: null (NaN, unknown) or a number in [0, 1]; absent fails. */
  private static double fraction(Path file, int line, JsonObject o, String where, String key) {
    JsonElement e = o.get(key);
    if (e != null && e.isJsonNull()) {
      return Double.NaN;
    }
    double v = number(file, line, o, where, key);
    if (!(v >= 0 && v <= 1)) {
      throw new MalformedLineException(file, line, "\"" + where + key + "\" must be null or in [0, 1], got " + v);
    }
    return v;
  }

  /** A non-empty string under {@code key} of {@code o}. */
  private static String string(Path file, int line, JsonObject o, String where, String key) {
    JsonElement e = o.get(key);
    if (e == null || e.isJsonNull()) {
      throw new MalformedLineException(file, line, "missing \"" + where + key + "\"");
    }
    if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString() || e.getAsString().isEmpty()) {
      throw new MalformedLineException(file, line, "\"" + where + key + "\" must be a non-empty string, got "
          + abbreviate(e.toString()));
    }
    return e.getAsString();
  }

  /** A number as the messages show it: whole numbers without ".0". */
  private static String fmt(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }

  private static String rootMessage(Throwable t) {
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }

  private static String abbreviate(String s) {
    return s.length() <= 60 ? s : s.substring(0, 57) + "...";
  }
}
