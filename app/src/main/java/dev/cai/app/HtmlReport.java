package dev.cai.app;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The run report page, {@code report.html} next to the PNGs of {@code cai report}: the pipeline summary, SL-CAI
 * examples (prompt, response, critiques and revisions), the SFT and PM loss, the AI-feedback labels and their
 * calibration, the PM's held-out agreement, the PPO curves, stage throughput and the Elo of {@code cai eval elo}, in one
 * HTML file (every text HTML-escaped; the images are the PNGs in the same directory).
 */
final class HtmlReport {
  /** SL-CAI examples shown. */
  static final int EXAMPLES = 3;

  /** Where {@code cai eval elo} output may be in a run (first found wins). */
  static final List<String> ELO_CANDIDATES = List.of("eval/elo.json", "elo.json");

  private HtmlReport() {}

  /**
   * Writes {@code dir/report.html} for {@code runDir} with the charts {@code pngs} (files in {@code dir}) and the
   * throughput table, copying the Elo frontier PNG next to it when there is one; returns the page's path.
   */
  static Path write(Path runDir, Path dir, List<Path> pngs, List<String> throughputTable) {
    Set<String> charts = new HashSet<>();
    pngs.forEach(p -> charts.add(p.getFileName().toString()));
    Optional<Path> elo = ReportCommand.locate(runDir, ELO_CANDIDATES);
    if (elo.isPresent()) {
      Path frontier = elo.get().resolveSibling("elo-frontier.png");
      if (Files.isRegularFile(frontier)) {
        try {
          Files.copy(frontier, dir.resolve("elo-frontier.png"), StandardCopyOption.REPLACE_EXISTING);
          charts.add("elo-frontier.png");
        } catch (IOException e) {
          throw new UncheckedIOException("Cannot copy " + frontier + " into " + dir + ": " + e.getMessage(), e);
        }
      }
    }
    StringBuilder h = new StringBuilder();
    h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>cai report: ")
        .append(esc(runDir.toString())).append("</title>\n<style>")
        .append("body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#1d2330}")
        .append("h1{font-size:1.5em}h2{border-bottom:1px solid #ccd;padding-bottom:.2em;margin-top:2em}")
        .append("img{max-width:100%;border:1px solid #dde;margin:.5em 0}table{border-collapse:collapse;margin:.5em 0}")
        .append("td,th{border:1px solid #ccd;padding:.25em .6em;text-align:left;vertical-align:top}")
        .append(".ex{border-left:4px solid #6a8;padding:.2em 1em;margin:1em 0;background:#f6f8f7}")
        .append(".ex dt{font-weight:600;margin-top:.4em}.ex dd{margin:0 0 0 1em;white-space:pre-wrap}")
        .append("pre{background:#f3f4f7;padding:.6em;overflow-x:auto}.none{color:#778}</style></head><body>\n");
    h.append("<h1>cai run report</h1>\n<p>").append(esc(runDir.toAbsolutePath().toString())).append(" · written ")
        .append(esc(Instant.now().toString())).append("</p>\n");
    summary(h, runDir.resolve("run-summary.json"));
    h.append("<h2>SL-CAI: critique → revision</h2>\n");
    examples(h, runDir.resolve("sl-examples.jsonl"));
    image(h, charts, "sft-loss.png", "SFT loss per step");
    h.append("<h2>AI feedback labels</h2>\n");
    image(h, charts, "label-p-chosen.png", "distribution of the soft labels p_chosen");
    image(h, charts, "label-calibration.png", "labeler reliability diagram");
    h.append("<h2>Preference model</h2>\n");
    pmEval(h, runDir.resolve("pm/eval.json"));
    image(h, charts, "pm-loss.png", "PM loss per step");
    h.append("<h2>RL-CAI (PPO)</h2>\n");
    image(h, charts, "ppo-score-kl.png", "PM score and KL per policy version");
    image(h, charts, "ppo-diagnostics.png", "clip fraction, approx-KL, entropy");
    h.append("<h2>Pipeline throughput</h2>\n");
    image(h, charts, "throughput.png", "elements/s per stage");
    image(h, charts, "stage-buffer-fill.png", "buffer fill per stage");
    if (!throughputTable.isEmpty()) {
      h.append("<pre>").append(esc(String.join("\n", throughputTable))).append("</pre>\n");
    }
    h.append("<h2>Harmlessness and helpfulness Elo</h2>\n");
    elo(h, elo);
    image(h, charts, "elo-frontier.png", "harmlessness vs helpfulness Elo");
    h.append("</body></html>\n");
    Path page = dir.resolve("report.html");
    Path tmp = dir.resolve("report.html.tmp");
    try {
      Files.writeString(tmp, h, StandardCharsets.UTF_8);
      Files.move(tmp, page, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write " + page + ": " + e.getMessage(), e);
    }
    return page;
  }

  private static void image(StringBuilder h, Set<String> charts, String file, String alt) {
    if (charts.contains(file)) {
      h.append("<img src=\"").append(esc(file)).append("\" alt=\"").append(esc(alt)).append("\">\n");
    }
  }

  private static void none(StringBuilder h, String what) {
    h.append("<p class=\"none\">").append(esc(what)).append("</p>\n");
  }

  /** The stages of {@code run-summary.json} ({@code cai run}), when present. */
  private static void summary(StringBuilder h, Path file) {
    Optional<JsonObject> o = object(file);
    if (o.isEmpty() || !o.get().has("stages") || !o.get().get("stages").isJsonArray()) {
      return;
    }
    h.append("<h2>Pipeline</h2>\n<table><tr><th>stage</th><th>status</th><th>seconds</th><th>detail</th></tr>\n");
    for (JsonElement e : o.get().getAsJsonArray("stages")) {
      if (!e.isJsonObject()) {
        throw new IllegalArgumentException(file + ": \"stages\" must hold objects");
      }
      JsonObject s = e.getAsJsonObject();
      h.append("<tr><td>").append(esc(str(s, "name"))).append("</td><td>").append(esc(str(s, "status")))
          .append("</td><td>").append(esc(str(s, "seconds"))).append("</td><td>").append(esc(str(s, "detail")))
          .append("</td></tr>\n");
    }
    h.append("</table>\n");
  }

  /** The first {@link #EXAMPLES} OK examples of {@code sl-examples.jsonl}; a malformed line fails with FILE:LINE. */
  private static void examples(StringBuilder h, Path file) {
    if (!Files.isRegularFile(file)) {
      none(h, "no sl-examples.jsonl in this run");
      return;
    }
    int shown = 0;
    int lineNo = 0;
    try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      while (shown < EXAMPLES && (line = r.readLine()) != null) {
        lineNo++;
        if (line.isBlank()) {
          continue;
        }
        JsonElement parsed;
        try {
          parsed = JsonParser.parseString(line);
        } catch (JsonParseException ex) {
          throw new MetricsSeries.MalformedLineException(file, lineNo, "not JSON: " + ex.getMessage());
        }
        if (!parsed.isJsonObject()) {
          throw new MetricsSeries.MalformedLineException(file, lineNo, "expected a JSON object");
        }
        JsonObject e = parsed.getAsJsonObject();
        if (e.has("status") && !"OK".equals(str(e, "status"))) {
          continue;
        }
        h.append("<dl class=\"ex\">");
        item(h, "prompt", e.has("prompt") && e.get("prompt").isJsonObject() ? str(e.getAsJsonObject("prompt"), "text") : "");
        item(h, "response", str(e, "initial_response"));
        if (e.has("rounds") && e.get("rounds").isJsonArray()) {
          JsonArray rounds = e.getAsJsonArray("rounds");
          for (int i = 0; i < rounds.size(); i++) {
            JsonObject round = rounds.get(i).getAsJsonObject();
            item(h, "critique " + (i + 1) + " (" + str(round, "principle_id") + ")", str(round, "critique"));
            item(h, "revision " + (i + 1), str(round, "revision"));
          }
        }
        h.append("</dl>\n");
        shown++;
      }
    } catch (IOException ex) {
      throw new UncheckedIOException("Cannot read " + file + ": " + ex.getMessage(), ex);
    }
    if (shown == 0) {
      none(h, "no OK example in " + file);
    }
  }

  private static void item(StringBuilder h, String term, String text) {
    h.append("<dt>").append(esc(term)).append("</dt><dd>").append(esc(text)).append("</dd>");
  }

  /** The PM's held-out agreement ({@code pm/eval.json}, written by {@code cai pm train}). */
  private static void pmEval(StringBuilder h, Path file) {
    Optional<JsonObject> o = object(file);
    if (o.isEmpty()) {
      none(h, "no pm/eval.json in this run");
      return;
    }
    h.append("<p>Held-out pairs: ").append(esc(str(o.get(), "held_out_pairs")))
        .append("; the PM agrees with the label's side on ").append(esc(str(o.get(), "agreement"))).append("</p>\n");
  }

  /** The Elo table of {@code elo.json} ({@code cai eval elo}). */
  private static void elo(StringBuilder h, Optional<Path> file) {
    Optional<JsonObject> o = file.flatMap(HtmlReport::object);
    if (o.isEmpty() || !o.get().has("snapshots") || !o.get().get("snapshots").isJsonArray()) {
      none(h, "no eval/elo.json in this run (cai eval elo --out RUN_DIR/eval)");
      return;
    }
    h.append("<p>").append(esc(str(o.get(), "scale"))).append("</p>\n<table><tr><th>snapshot</th>")
        .append("<th>harmlessness Elo (95% CI)</th><th>helpfulness Elo (95% CI)</th><th>PM score</th>")
        .append("<th>evasive</th></tr>\n");
    for (JsonElement e : o.get().getAsJsonArray("snapshots")) {
      JsonObject s = e.getAsJsonObject();
      h.append("<tr><td>").append(esc(str(s, "name"))).append("</td><td>").append(esc(interval(s, "harmlessness")))
          .append("</td><td>").append(esc(interval(s, "helpfulness"))).append("</td><td>");
      if (s.has("pm") && s.get("pm").isJsonObject()) {
        JsonObject pm = s.getAsJsonObject("pm");
        h.append(esc(String.format(Locale.ROOT, "%.3f ± %.3f", pm.get("mean").getAsDouble(),
            pm.get("std").getAsDouble())));
      }
      h.append("</td><td>");
      if (s.has("evasiveness") && s.get("evasiveness").isJsonObject()) {
        JsonObject ev = s.getAsJsonObject("evasiveness");
        h.append(esc(str(ev, "evasive") + "/" + str(ev, "responses")));
      }
      h.append("</td></tr>\n");
    }
    h.append("</table>\n");
  }

  private static String interval(JsonObject s, String key) {
    if (!s.has(key) || !s.get(key).isJsonObject()) {
      return "";
    }
    JsonObject d = s.getAsJsonObject(key);
    return String.format(Locale.ROOT, "%+.1f [%+.1f, %+.1f]", d.get("elo").getAsDouble(), d.get("ci_low").getAsDouble(),
        d.get("ci_high").getAsDouble());
  }

  /** The JSON object in {@code file}, empty when there is no such file; a file that is not a JSON object fails. */
  private static Optional<JsonObject> object(Path file) {
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    try {
      JsonElement e = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
      if (!e.isJsonObject()) {
        throw new IllegalArgumentException(file + ": expected a JSON object");
      }
      return Optional.of(e.getAsJsonObject());
    } catch (JsonParseException e) {
      throw new IllegalArgumentException(file + ": not JSON: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  private static String str(JsonObject o, String key) {
    JsonElement e = o.get(key);
    return e == null || e.isJsonNull() ? "" : e.isJsonPrimitive() ? e.getAsString() : e.toString();
  }

  /** {@code text} with &amp;, &lt;, &gt;, &quot; and &#39; escaped. */
  static String esc(String text) {
    StringBuilder sb = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '&' -> sb.append("&amp;");
        case '<' -> sb.append("&lt;");
        case '>' -> sb.append("&gt;");
        case '"' -> sb.append("&quot;");
        case '\'' -> sb.append("&#39;");
        default -> sb.append(c);
      }
    }
    return sb.toString();
  }
}
