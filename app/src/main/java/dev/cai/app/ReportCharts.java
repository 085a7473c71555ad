package dev.cai.app;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
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
