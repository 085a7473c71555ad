package dev.cai.app;

import java.io.PrintWriter;
import java.time.Duration;

/** A one-line progress bar on stderr with rates and ETA, redrawn in place (plain lines when not a terminal). */
final class ProgressLine {
  private final PrintWriter err;
  private final String unit;
  private final long total;
  private final long start = System.nanoTime();
  private final boolean terminal = System.console() != null;
  private long lastPrint;
  private long lastPrintedDone = -1;

  ProgressLine(PrintWriter err, String unit, long total) {
    this.err = err;
    this.unit = unit;
    this.total = total;
  }

  /** Redraws with {@code done} units and {@code tokens} tokens so far (0 = not counted; at most twice a second unless final). */
  synchronized void update(long done, long tokens, boolean last) {
    long now = System.nanoTime();
    if (!last && now - lastPrint < (terminal ? 500_000_000L : 10_000_000_000L)) {
      return;
    }
    if (last && !terminal && done == lastPrintedDone) {
      return; // a log file already has this line
    }
    lastPrintedDone = done;
    lastPrint = now;
    double secs = Math.max(1e-9, (now - start) / 1e9);
    double rate = done / secs;
    StringBuilder sb = new StringBuilder();
    if (total > 0) {
      int width = 24;
      int filled = (int) Math.min(width, width * done / total);
      sb.append('[').append("#".repeat(filled)).append(".".repeat(width - filled)).append("] ");
      sb.append(done).append('/').append(total).append(' ').append(unit);
    } else {
      sb.append(done).append(' ').append(unit);
    }
    sb.append(String.format("  %.2f %s/s", rate, unit));
    if (tokens > 0) {
      sb.append(String.format("  %.0f tok/s", tokens / secs));
    }
    sb.append("  ").append(elapsed(secs)).append(eta(done, total, secs));
    err.print(terminal ? "\r" + sb + "   " : sb + "\n");
    if (last && terminal) {
      err.println();
    }
    err.flush();
  }

  /** {@code "  ETA 3m20s"} at the rate so far, or "" when there is no total, nothing done yet, or nothing left. */
  static String eta(long done, long total, double secs) {
    if (total <= 0 || done <= 0 || done >= total || !(secs > 0)) {
      return "";
    }
    return "  ETA " + format(Duration.ofSeconds((long) ((total - done) * secs / done)));
  }

  private static String elapsed(double secs) {
    return "elapsed " + format(Duration.ofSeconds((long) secs));
  }

  static String format(Duration d) {
    long s = d.getSeconds();
    return s >= 3600 ? String.format("%dh%02dm", s / 3600, (s % 3600) / 60) : String.format("%dm%02ds", s / 60, s % 60);
  }
}
