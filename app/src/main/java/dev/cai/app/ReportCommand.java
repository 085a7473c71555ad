package dev.cai.app;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cai report}: PNG charts of the metrics a run has written. */
@Command(name = "report", mixinStandardHelpOptions = true,
    description = {"PNG charts of a run: SFT loss (sl-train/train-metrics.jsonl), PM loss (pm/train-metrics.jsonl), PPO "
        + "score/KL and clip fraction/approx-KL/entropy (rl-metrics.jsonl or rl/rl-metrics.jsonl), the distribution "
        + "of the AI-feedback soft labels p_chosen (label/comparisons.jsonl or comparisons.jsonl), the labeler's "
        + "reliability diagram (label-eval.json, written by cai label eval --mc FILE --out RUN_DIR/label-eval.json), and "
        + "per graph/stage throughput (elements/s) and buffer fill over wall time, 60 s trailing means (metrics.jsonl, written by every long "
        + "command).",
        "Sources that are absent or empty are skipped; a malformed line stops the report with FILE:LINE: problem. "
            + "Prints the paths of the files written, then, from metrics.jsonl, a table per phase and stage: elements "
            + "finished, mean elements/s and tokens/s between its lines, mean buffer fill."})
final class ReportCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "RUN_DIR", description = "A run directory (cai demo, cai run, cai rl train --out, ...).")
  Path runDir;

  @Option(names = "--out", paramLabel = "DIR", description = "Where the PNG files go (default: RUN_DIR/report).")
  Path out;

  /** A kind of metrics file: where it may be in a run (first found wins) and how it is read. */
  enum Source {
    SFT("SFT loss", List.of("sl-train/train-metrics.jsonl")),
    PM("PM loss", List.of("pm/train-metrics.jsonl")),
    PPO("PPO metrics", List.of("rl-metrics.jsonl", "rl/rl-metrics.jsonl")),
    LABELS("AI-feedback labels", List.of("label/comparisons.jsonl", "comparisons.jsonl")),
    CALIBRATION("Label calibration", List.of("label-eval.json")),
    THROUGHPUT("Stage throughput", List.of("metrics.jsonl"));

    final String title;
    final List<String> candidates;

    Source(String title, List<String> candidates) {
      this.title = title;
      this.candidates = candidates;
    }
  }

  /** One chart to write: its file name and the chart. */
  record Planned(String fileName, org.knowm.xchart.internal.chartpart.Chart<?, ?> chart) {}

  /**
   * What was done with a source: the file read (if any), the charts planned from it or why it was skipped, and the lines
   * of text it adds to the report (empty for most).
   */
  record Outcome(Source source, Optional<Path> file, List<Planned> charts, String note, List<String> summary) {
    Outcome(Source source, Optional<Path> file, List<Planned> charts, String note) {
      this(source, file, charts, note, List.of());
    }

    /** Whether the source gave a chart or a summary. */
    boolean hasData() {
      return !charts.isEmpty() || !summary.isEmpty();
    }
  }

  @Override
  public Integer call() {
    PrintWriter stdout = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    List<Outcome> outcomes = plan(runDir);
    for (Outcome o : outcomes) {
      err.printf("%-7s %-20s %s%n", o.hasData() ? "found" : "skipped", o.source().title, o.note());
    }
    Path dir = out != null ? out : runDir.resolve("report");
    List<Path> pngs = write(outcomes, dir);
    for (Path written : pngs) {
      stdout.println(written);
    }
    List<String> table = outcomes.stream().filter(o -> o.source() == Source.THROUGHPUT).flatMap(o -> o.summary().stream())
        .toList();
    stdout.println(HtmlReport.write(runDir, dir, pngs, table));
    for (Outcome o : outcomes) {
      if (!o.summary().isEmpty()) {
        stdout.println();
        o.summary().forEach(stdout::println);
      }
    }
    return 0;
  }

  /**
   * Reads every source of {@code runDir} and plans its charts; fails on a malformed line, when the run directory does not
   * exist, or when no source has data.
   */
  static List<Outcome> plan(Path runDir) {
    if (!Files.isDirectory(runDir)) {
      throw new IllegalArgumentException("Run directory " + runDir + " does not exist or is not a directory");
    }
    List<Outcome> outcomes = new ArrayList<>();
    for (Source s : Source.values()) {
      outcomes.add(plan(runDir, s));
    }
    if (outcomes.stream().noneMatch(Outcome::hasData)) {
      throw new IllegalArgumentException("No metrics to report in " + runDir + ": looked for "
          + outcomes.stream().flatMap(o -> o.source().candidates.stream()).collect(Collectors.joining(", "))
          + " (run cai sl train, pm train, label or rl train into it first)");
    }
    return outcomes;
  }

  /** The outcome of one source of {@code runDir}. */
  static Outcome plan(Path runDir, Source s) {
    Optional<Path> file = locate(runDir, s.candidates);
    if (file.isEmpty()) {
      return new Outcome(s, file, List.of(), "absent (" + String.join(" or ", s.candidates) + ")");
    }
    Path f = file.get();
    switch (s) {
      case SFT:
      case PM: {
        MetricsSeries.TrainCurve c = MetricsSeries.trainCurve(f);
        return c.size() == 0 ? empty(s, f)
            : new Outcome(s, file, List.of(new Planned(s == Source.SFT ? "sft-loss.png" : "pm-loss.png",
                ReportCharts.trainLoss(s.title, c))), f + " (" + c.size() + " steps)");
      }
      case PPO: {
        MetricsSeries.PpoCurves c = MetricsSeries.ppoCurves(f);
        return c.size() == 0 ? empty(s, f)
            : new Outcome(s, file, List.of(new Planned("ppo-score-kl.png", ReportCharts.ppoScoreKl(c)),
                new Planned("ppo-diagnostics.png", ReportCharts.ppoDiagnostics(c))), f + " (" + c.size() + " updates)");
      }
      case LABELS: {
        MetricsSeries.Labels l = MetricsSeries.labels(f);
        return l.size() == 0 ? empty(s, f)
            : new Outcome(s, file, List.of(new Planned("label-p-chosen.png", ReportCharts.labelHistogram(l))),
                f + " (" + l.size() + " comparisons)");
      }
      case CALIBRATION: {
        Optional<MetricsSeries.LabelEval> e = MetricsSeries.labelEval(f);
        return e.isEmpty() ? new Outcome(s, file, List.of(), f + " is empty")
            : new Outcome(s, file, List.of(new Planned("label-calibration.png", ReportCharts.labelCalibration(e.get()))),
                f + " (" + e.get().items() + " items)");
      }
      case THROUGHPUT: {
        MetricsSeries.Throughput t = MetricsSeries.throughput(f);
        if (t.lines() == 0) {
          return empty(s, f);
        }
        String lines = t.lines() + (t.lines() == 1 ? " line" : " lines");
        if (t.fills().isEmpty()) {
          return new Outcome(s, file, List.of(), f + " (" + lines + ") has no stages");
        }
        List<Planned> charts = new ArrayList<>();
        if (!t.rates().isEmpty()) {
          charts.add(new Planned("throughput.png", ReportCharts.throughput(t)));
        }
        if (t.fills().stream().anyMatch(x -> Double.isFinite(x.bufferFill()))) {
          charts.add(new Planned("stage-buffer-fill.png", ReportCharts.bufferFill(t)));
        }
        return new Outcome(s, file, charts, f + " (" + lines + (t.rates().isEmpty()
            ? "; no phase has two lines, so no rates)" : ")"), throughputTable(t));
      }
      default:
        throw new IllegalStateException("unknown source " + s);
    }
  }

  /** Writes the planned charts into {@code dir} (created when missing) and returns their paths. */
  static List<Path> write(List<Outcome> outcomes, Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create the report directory " + dir + ": " + e.getMessage(), e);
    }
    List<Path> written = new ArrayList<>();
    for (Outcome o : outcomes) {
      for (Planned p : o.charts()) {
        written.add(ReportCharts.writePng(p.chart(), dir.resolve(p.fileName())));
      }
    }
    return written;
  }

  /**
   * The per-stage table printed after the charts: per phase and graph/stage, elements finished, mean elements/s and
   * tokens/s (Δcount / Δtime over the phase's consecutive lines; "-" with fewer than two lines) and mean buffer fill.
   */
  static List<String> throughputTable(MetricsSeries.Throughput t) {
    int phaseWidth = "phase".length();
    int stageWidth = "stage".length();
    for (MetricsSeries.StageSummary r : t.summary()) {
      phaseWidth = Math.max(phaseWidth, r.phase().length());
      stageWidth = Math.max(stageWidth, r.stage().length());
    }
    String row = "%-" + phaseWidth + "s  %-" + stageWidth + "s  %10s  %10s  %10s  %11s";
    List<String> out = new ArrayList<>();
    out.add("Stage throughput (" + t.file() + ", " + t.lines() + (t.lines() == 1 ? " line" : " lines")
        + "): means over each phase's consecutive lines");
    out.add(String.format(Locale.ROOT, row, "phase", "stage", "elements", "elements/s", "tokens/s", "buffer fill"));
    for (MetricsSeries.StageSummary r : t.summary()) {
      out.add(String.format(Locale.ROOT, row, r.phase(), r.stage(), cell("%.0f", r.elements()),
          cell("%.3f", r.elementsPerSec()), cell("%.1f", r.tokensPerSec()), cell("%.2f", r.meanBufferFill())));
    }
    return out;
  }

  private static String cell(String format, double v) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, format, v) : "-";
  }

  /** The first of {@code candidates} (relative to {@code runDir}) that is a regular file. */
  static Optional<Path> locate(Path runDir, List<String> candidates) {
    return candidates.stream().map(runDir::resolve).filter(Files::isRegularFile).findFirst();
  }

  private static Outcome empty(Source s, Path f) {
    return new Outcome(s, Optional.of(f), List.of(), f + " has no lines");
  }
}
