package dev.cai.app;

import dev.cai.runtime.eval.McEval;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import java.util.function.ToIntFunction;
import javax.imageio.ImageIO;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The charts of {@code cai report}, built from {@link MetricsSeries} (XChart, rendered headless to PNG). */
final class ReportCharts {
  static {
    System.setProperty("java.awt.headless", "true");
  }

  static final int WIDTH = 960;
  static final int HEIGHT = 540;

  private ReportCharts() {}

  /** Loss against optimizer step of a training run, with an exponential moving average when the curve is long. */
  static XYChart trainLoss(String title, MetricsSeries.TrainCurve c) {
    XYChart chart = xy(title + " (" + c.size() + " steps)", "step", "loss");
    addLine(chart, "loss", c.step(), c.loss(), 0);
    if (c.size() >= 20) {
      addLine(chart, "loss (EMA 0.9)", c.step(), ema(c.loss(), 0.9), 0);
    }
    return chart;
  }

  /** PPO: mean PM score (left axis) and KL to the SL-CAI policy (right axis) per policy version. */
  static XYChart ppoScoreKl(MetricsSeries.PpoCurves c) {
    XYChart chart = xy("PPO: score and KL (" + c.size() + " updates)", "policy version", "PM score");
    addLine(chart, "score", c.version(), c.score(), 0);
    addLine(chart, "KL", c.version(), c.kl(), 1);
    chart.setYAxisGroupTitle(1, "KL");
    chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
    return chart;
  }

  /** PPO: clip fraction (left axis), entropy and approx-KL (two right axes: their scales differ) per policy version. */
  static XYChart ppoDiagnostics(MetricsSeries.PpoCurves c) {
    XYChart chart = xy("PPO: clip fraction, entropy, approx-KL (" + c.size() + " updates)", "policy version",
        "clip fraction");
    addLine(chart, "clip fraction", c.version(), c.clipFraction(), 0);
    addLine(chart, "entropy", c.version(), c.entropy(), 1);
    addLine(chart, "approx-KL", c.version(), c.approxKl(), 2);
    chart.setYAxisGroupTitle(1, "entropy");
    chart.setYAxisGroupTitle(2, "approx-KL");
    chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
    chart.getStyler().setYAxisGroupPosition(2, Styler.YAxisPosition.Right);
    return chart;
  }

  /**
   * The distribution of the soft labels {@code p_chosen}: 10 bins over [0.5, 1] (p_chosen is the winner's probability,
   * so at least 0.5) or 20 bins over [0, 1] when some label is below 0.5.
   */
  static CategoryChart labelHistogram(MetricsSeries.Labels l) {
    boolean winnerSide = true;
    for (double p : l.pChosen()) {
      winnerSide &= p >= 0.5;
    }
    double lo = winnerSide ? 0.5 : 0.0;
    int bins = winnerSide ? 10 : 20;
    int[] counts = MetricsSeries.histogram(l.pChosen(), lo, 1.0, bins);
    List<String> labels = new ArrayList<>();
    List<Integer> values = new ArrayList<>();
    for (int b = 0; b < bins; b++) {
      labels.add(String.format(Locale.ROOT, "%.2f", lo + (1.0 - lo) * (b + 0.5) / bins));
      values.add(counts[b]);
    }
    CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT)
        .title(String.format(Locale.ROOT, "AI-feedback soft labels: p_chosen (%d comparisons, mean %.3f)", l.size(), l.mean()))
        .xAxisTitle("p_chosen (bin centre)").yAxisTitle("comparisons").build();
    chart.getStyler().setLegendVisible(false);
    chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    chart.addSeries("p_chosen", labels, values);
    return chart;
  }

  /** One snapshot on the Elo frontier: helpfulness Elo (x) and harmlessness Elo (y), each with its 95% interval. */
  record FrontierPoint(String name, double x, double xLo, double xHi, double y, double yLo, double yHi) {}

  /**
   * Harmlessness Elo against helpfulness Elo, one labelled point per snapshot with horizontal and vertical bars for its
   * confidence intervals, joined in the order given (e.g. training order), as Bai et al. 2022 (Constitutional AI)
   * Fig. 2; up and to the right is better.
   */
  static XYChart eloFrontier(List<FrontierPoint> points, String anchorName) {
    XYChart chart = xy("Harmlessness vs helpfulness Elo (" + points.size() + " snapshots, 95% bootstrap CIs, "
        + anchorName + " = 0)", "helpfulness Elo", "harmlessness Elo");
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
    double[] xs = points.stream().mapToDouble(FrontierPoint::x).toArray();
    double[] ys = points.stream().mapToDouble(FrontierPoint::y).toArray();
    XYSeries order = chart.addSeries("snapshot order", xs, ys);
    order.setMarker(SeriesMarkers.NONE);
    order.setLineColor(java.awt.Color.LIGHT_GRAY);
    double[] xRange = padded(points.stream().flatMapToDouble(p -> java.util.stream.DoubleStream.of(p.xLo(), p.xHi(), p.x())).toArray());
    double[] yRange = padded(points.stream().flatMapToDouble(p -> java.util.stream.DoubleStream.of(p.yLo(), p.yHi(), p.y())).toArray());
    chart.getStyler().setXAxisMin(xRange[0]).setXAxisMax(xRange[1]).setYAxisMin(yRange[0]).setYAxisMax(yRange[1]);
    java.awt.Color[] palette = chart.getStyler().getSeriesColors();
    for (int i = 0; i < points.size(); i++) {
      FrontierPoint p = points.get(i);
      java.awt.Color color = palette[i % palette.length];
      errorBar(chart, p.name() + " (helpfulness CI)", new double[] {p.xLo(), p.xHi()}, new double[] {p.y(), p.y()}, color);
      errorBar(chart, p.name() + " (harmlessness CI)", new double[] {p.x(), p.x()}, new double[] {p.yLo(), p.yHi()}, color);
      XYSeries s = chart.addSeries(p.name(), new double[] {p.x()}, new double[] {p.y()});
      s.setMarker(SeriesMarkers.CIRCLE);
      s.setMarkerColor(color);
      s.setLineColor(color);
      // the label sits just above its point
      chart.addAnnotation(new org.knowm.xchart.AnnotationText(p.name(), p.x(), p.y() + 0.04 * (yRange[1] - yRange[0]), false));
    }
    return chart;
  }

  /** Trailing window of the stage charts: the mean over it reads better than 10 s samples of bursty stages. */
  static final double STAGE_WINDOW_SECONDS = 60;

  /**
   * Elements/s of every graph/stage over wall time ({@link #STAGE_WINDOW_SECONDS} trailing mean): one line per stage,
   * broken between the run's commands.
   */
  static XYChart throughput(MetricsSeries.Throughput t) {
    XYChart chart = xy(String.format(Locale.ROOT, "Stage throughput (%s, %.0f s trailing mean)", t.file().getFileName(),
        STAGE_WINDOW_SECONDS), "minutes since the first line", "elements/s");
    addStageSeries(chart, points(MetricsSeries.trailingRates(t.rates(), STAGE_WINDOW_SECONDS),
        MetricsSeries.StageRate::stage, MetricsSeries.StageRate::segment, MetricsSeries.StageRate::minutes,
        MetricsSeries.StageRate::elementsPerSec));
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setYAxisDecimalPattern("0.###");
    return chart;
  }

  /**
   * Buffer fill (in flight / capacity) of every graph/stage over wall time ({@link #STAGE_WINDOW_SECONDS} trailing mean):
   * near 1, the stage is the bottleneck and backpressures its upstream.
   */
  static XYChart bufferFill(MetricsSeries.Throughput t) {
    XYChart chart = xy(String.format(Locale.ROOT, "Stage buffer fill, in flight / capacity (%.0f s trailing mean; near 1 "
        + "= bottleneck)", STAGE_WINDOW_SECONDS), "minutes since the first line", "buffer fill");
    addStageSeries(chart, points(MetricsSeries.trailingFills(t.fills(), STAGE_WINDOW_SECONDS),
        MetricsSeries.StageFill::stage, MetricsSeries.StageFill::segment, MetricsSeries.StageFill::minutes,
        MetricsSeries.StageFill::bufferFill));
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setYAxisMax(1.0);
    return chart;
  }

  /**
   * Reliability diagram of the labeler's multiple-choice evaluation: observed accuracy against mean predicted probability
   * per bin, raw and (A)/(B)-swapped-and-averaged, each point labelled with its count, and the diagonal of perfect
   * calibration.
   */
  static XYChart labelCalibration(MetricsSeries.LabelEval e) {
    String title = String.format(Locale.ROOT, "Labeler calibration: %d items%s, accuracy %.3f", e.items(),
        e.mcFile().isEmpty() ? "" : " of " + Path.of(e.mcFile()).getFileName(), e.accuracy());
    if (e.swappable() > 0 && Double.isFinite(e.debiasedAccuracy())) {
      title += String.format(Locale.ROOT, " (debiased %.3f on %d)", e.debiasedAccuracy(), e.swappable());
    }
    XYChart chart = xy(title, "mean predicted probability (bin)", "fraction correct");
    chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
    chart.getStyler().setXAxisMin(0.0);
    chart.getStyler().setXAxisMax(1.0);
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setYAxisMax(1.0);
    chart.getStyler().setAnnotationTextFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.PLAIN, 11));
    XYSeries diagonal = chart.addSeries("perfect calibration", new double[] {0, 1}, new double[] {0, 1});
    diagonal.setMarker(SeriesMarkers.NONE);
    diagonal.setLineColor(java.awt.Color.GRAY);
    diagonal.setLineStyle(new java.awt.BasicStroke(1f, java.awt.BasicStroke.CAP_BUTT, java.awt.BasicStroke.JOIN_MITER, 10f,
        new float[] {6f, 4f}, 0f));
    addReliability(chart, "raw (every option; label = count)", e.raw());
    if (e.swappable() > 0) {
      addReliability(chart, "(A)/(B) swapped and averaged (swappable items)", e.debiased());
    }
    // each count goes above its point, or below it where the other table's point of the same bin is higher
    for (int b = 0; b < e.raw().size(); b++) {
      McEval.Bin raw = e.raw().get(b);
      McEval.Bin debiased = e.swappable() > 0 && b < e.debiased().size() ? e.debiased().get(b) : null;
      boolean both = filled(raw) && filled(debiased);
      if (filled(raw)) {
        countLabel(chart, raw, !both || raw.fractionCorrect() >= debiased.fractionCorrect());
      }
      if (filled(debiased)) {
        countLabel(chart, debiased, !both || debiased.fractionCorrect() > raw.fractionCorrect());
      }
    }
    return chart;
  }

  /** [min − pad, max + pad] of {@code values} with pad 10% of the range, at least 10 (Elo points). */
  static double[] padded(double[] values) {
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (double v : values) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    double pad = Math.max(10, 0.1 * (hi - lo));
    return new double[] {lo - pad, hi + pad};
  }

  private static void errorBar(XYChart chart, String name, double[] x, double[] y, java.awt.Color color) {
    XYSeries bar = chart.addSeries(name, x, y);
    bar.setMarker(SeriesMarkers.NONE);
    bar.setLineColor(color);
    bar.setShowInLegend(false);
  }

  /** Renders {@code chart} to a PNG at {@code file} (written to a temporary sibling, then moved into place). */
  static Path writePng(Chart<?, ?> chart, Path file) {
    BufferedImage image = BitmapEncoder.getBufferedImage(chart);
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try {
      if (!ImageIO.write(image, "png", tmp.toFile())) {
        throw new IllegalStateException("No PNG writer available to write " + file);
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write " + file + ": " + e.getMessage(), e);
    }
    return file;
  }

  /** Exponential moving average with weight {@code alpha} on the past; non-finite values are carried over. */
  static double[] ema(double[] y, double alpha) {
    double[] out = new double[y.length];
    double acc = Double.NaN;
    for (int i = 0; i < y.length; i++) {
      if (Double.isFinite(y[i])) {
        acc = Double.isNaN(acc) ? y[i] : alpha * acc + (1 - alpha) * y[i];
      }
      out[i] = acc;
    }
    return out;
  }

  /** The points of (x, y) where both are finite: {@code [xs, ys]}. */
  static double[][] finite(double[] x, double[] y) {
    int n = 0;
    for (int i = 0; i < x.length; i++) {
      n += Double.isFinite(x[i]) && Double.isFinite(y[i]) ? 1 : 0;
    }
    double[][] out = new double[2][n];
    int j = 0;
    for (int i = 0; i < x.length; i++) {
      if (Double.isFinite(x[i]) && Double.isFinite(y[i])) {
        out[0][j] = x[i];
        out[1][j++] = y[i];
      }
    }
    return out;
  }

  private static XYChart xy(String title, String xTitle, String yTitle) {
    XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
    chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
    chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    return chart;
  }

  /**
   * The points {@code [x, y]} of each stage (in order of first appearance), with a (x, NaN) point where the segment changes
   * so that the line breaks between two commands.
   */
  static <T> Map<String, List<double[]>> points(List<T> rows, Function<T, String> stage, ToIntFunction<T> segment,
      ToDoubleFunction<T> x, ToDoubleFunction<T> y) {
    Map<String, List<double[]>> out = new LinkedHashMap<>();
    Map<String, Integer> lastSegment = new HashMap<>();
    for (T r : rows) {
      List<double[]> pts = out.computeIfAbsent(stage.apply(r), k -> new ArrayList<>());
      int seg = segment.applyAsInt(r);
      Integer last = lastSegment.put(stage.apply(r), seg);
      if (last != null && last != seg) {
        pts.add(new double[] {x.applyAsDouble(r), Double.NaN});
      }
      pts.add(new double[] {x.applyAsDouble(r), y.applyAsDouble(r)});
    }
    return out;
  }

  /** One series per stage; markers when a stage has few points; a stage without a finite point is left out. */
  private static void addStageSeries(XYChart chart, Map<String, List<double[]>> byStage) {
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
    for (Map.Entry<String, List<double[]>> e : byStage.entrySet()) {
      List<double[]> pts = e.getValue();
      if (pts.stream().noneMatch(p -> Double.isFinite(p[1]))) {
        continue;
      }
      double[] x = pts.stream().mapToDouble(p -> p[0]).toArray();
      double[] y = pts.stream().mapToDouble(p -> p[1]).toArray();
      XYSeries s = chart.addSeries(e.getKey(), x, y);
      s.setMarker(pts.size() <= 40 ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
    }
  }

  /** The non-empty bins of {@code table} as a line with markers (mean predicted, fraction correct). */
  private static void addReliability(XYChart chart, String name, List<McEval.Bin> table) {
    List<McEval.Bin> bins = table.stream().filter(ReportCharts::filled).toList();
    if (bins.isEmpty()) {
      return;
    }
    XYSeries s = chart.addSeries(name, bins.stream().mapToDouble(McEval.Bin::meanPredicted).toArray(),
        bins.stream().mapToDouble(McEval.Bin::fractionCorrect).toArray());
    s.setMarker(SeriesMarkers.CIRCLE);
  }

  private static boolean filled(McEval.Bin b) {
    return b != null && b.count() > 0 && Double.isFinite(b.meanPredicted()) && Double.isFinite(b.fractionCorrect());
  }

  /** "n=COUNT" just above (or below) the point of {@code b}; inside the plot at its edges. */
  private static void countLabel(XYChart chart, McEval.Bin b, boolean above) {
    double y = b.fractionCorrect() + (above ? 0.04 : -0.04);
    chart.addAnnotation(new AnnotationText("n=" + b.count(), b.meanPredicted(), y > 0.98 ? b.fractionCorrect() - 0.04
        : y < 0.02 ? b.fractionCorrect() + 0.04 : y, false));
  }

  /** Adds a line without markers from the finite points of (x, y); a series with none is left out. */
  private static void addLine(XYChart chart, String name, double[] x, double[] y, int yAxisGroup) {
    double[][] p = finite(x, y);
    if (p[0].length == 0) {
      return;
    }
    XYSeries s = chart.addSeries(name, p[0], p[1]);
    s.setMarker(p[0].length == 1 ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
    s.setYAxisGroup(yAxisGroup);
  }
}
