package dev.cai.app;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed series read from the metrics files of a run, for {@code cai report}: pure functions of the file contents, no
 * rendering. Every reader skips blank lines and fails on a malformed line with {@code FILE:LINE: problem}.
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
    JsonElement e = line.object().get(key);
    if (e == null || e.isJsonNull()) {
      throw new MalformedLineException(file, line.number(), "missing \"" + key + "\"");
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
    throw new MalformedLineException(file, line.number(), "\"" + key + "\" is not a number: " + abbreviate(e.toString()));
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
