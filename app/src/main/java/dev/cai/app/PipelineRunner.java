package dev.cai.app;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs the selected stages of a pipeline in order, each to completion or resumed: a stage whose completion
 * marker ({@code RUN_DIR/pipeline/STAGE.done.json}) holds its current fingerprint and whose outputs exist is
 * skipped; any other runs (its command resumes what an interrupted run left). A stage's fingerprint covers what
 * it runs and the fingerprints its inputs finished with, so new upstream results re-run the stages after them.
 * Stops at the first stage that fails or is not available; writes {@code RUN_DIR/run-summary.json}.
 */
final class PipelineRunner {
  /** Where markers live in a run directory. */
  static final String MARKERS = "pipeline";
  /** The run summary in a run directory. */
  static final String SUMMARY = "run-summary.json";

  private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

  /** What happened to a stage. */
  enum Status {
    /** Ran to completion in this run. */
    RAN,
    /** Finished earlier with the same fingerprint; not run. */
    SKIPPED,
    /** Ran and failed (exit code, exception or missing outputs). */
    FAILED,
    /** Selected, but this build has no implementation of it. */
    UNAVAILABLE,
    /** Not reached: an earlier stage failed or was unavailable. */
    NOT_RUN
  }

  /** One stage's outcome. */
  record StageResult(String name, Status status, Duration elapsed, int exitCode, String detail) {}

  /** The outcome of a run: 0 when every selected stage finished (now or earlier). */
  record Summary(List<StageResult> stages, Duration elapsed, int exitCode, Path file) {}

  private final Map<String, PipelineStage> available;
  private final Map<String, String> unavailable;

  /**
   * @param available the stages this build can run, by name
   * @param unavailable why a known stage is missing, by name
   */
  PipelineRunner(Map<String, PipelineStage> available, Map<String, String> unavailable) {
    this.available = available;
    this.unavailable = unavailable;
  }

  /** The runner of this build's stages. */
  static PipelineRunner standard() {
    return new PipelineRunner(PipelineStages.available(), PipelineStages.UNAVAILABLE);
  }

  /** Checks the section of every selected available stage (the top level was checked on load). */
  void validate(PipelineConfig c) {
    for (String name : c.stages()) {
      PipelineStage s = available.get(name);
      if (s != null) {
        s.validate(c);
      }
    }
  }

  /** Whether {@code name} has finished with its current fingerprint and its outputs exist; empty = why not. */
  Optional<String> doneReason(PipelineConfig c, PipelineStage s) {
    Optional<JsonObject> marker = readMarker(c.runDir(), s.name());
    if (marker.isEmpty()) {
      return Optional.empty();
    }
    if (!marker.get().get("fingerprint").getAsString().equals(fingerprint(c, s))) {
      return Optional.empty();
    }
    for (Path p : s.outputs(c)) {
      if (!Files.exists(p)) {
        return Optional.empty();
      }
    }
    return Optional.of("finished " + marker.get().get("finished_at").getAsString());
  }

  /**
   * Runs the selected stages in order.
   *
   * @param force run stages even when they are done (their commands resume, usually with nothing left to do)
   */
  Summary run(PipelineConfig c, boolean force, PrintWriter out, PrintWriter err) {
    validate(c);
    long t0 = System.nanoTime();
    Instant started = Instant.now();
    List<StageResult> results = new ArrayList<>();
    int exit = 0;
    for (String name : c.stages()) {
      if (exit != 0) {
        results.add(new StageResult(name, Status.NOT_RUN, Duration.ZERO, 0, "an earlier stage did not finish"));
        continue;
      }
      PipelineStage s = available.get(name);
      if (s == null) {
        String why = "not available in this build" + (unavailable.containsKey(name) ? ": " + unavailable.get(name) : "");
        err.println("\n== " + name + ": " + why);
        results.add(new StageResult(name, Status.UNAVAILABLE, Duration.ZERO, 1, why));
        exit = 1;
        continue;
      }
      Optional<String> done = force ? Optional.empty() : doneReason(c, s);
      if (done.isPresent()) {
        err.println("\n== " + name + ": skipped (" + done.get() + "; " + markerFile(c.runDir(), name) + ")");
        results.add(new StageResult(name, Status.SKIPPED, Duration.ZERO, 0, done.get()));
        continue;
      }
      StageResult r = runStage(c, s, out, err);
      results.add(r);
      exit = r.exitCode();
    }
    Duration elapsed = Duration.ofNanos(System.nanoTime() - t0);
    Path file = writeSummary(c, results, started, elapsed, exit);
    printTable(err, results, elapsed, file);
    return new Summary(List.copyOf(results), elapsed, exit, file);
  }

  private StageResult runStage(PipelineConfig c, PipelineStage s, PrintWriter out, PrintWriter err) {
    String fingerprint = fingerprint(c, s); // before it runs: what it was asked to do
    boolean before = readMarker(c.runDir(), s.name()).isPresent();
    deleteMarker(c.runDir(), s.name()); // stale until it finishes again
    err.println("\n== " + s.name() + (before ? " (inputs or settings changed since it finished: running again)" : "") + ": "
        + s.describe(c));
    err.flush();
    long t0 = System.nanoTime();
    int code;
    String detail;
    try {
      code = s.run(c, out, err);
      detail = code == 0 ? "finished" : "exit code " + code;
    } catch (Exception e) {
      code = 1;
      detail = Errors.describe(e);
      err.println("error: " + s.name() + ": " + detail);
    }
    Duration elapsed = Duration.ofNanos(System.nanoTime() - t0);
    if (code == 0) {
      List<Path> missing = s.outputs(c).stream().filter(p -> !Files.exists(p)).toList();
      if (!missing.isEmpty()) {
        code = 1;
        detail = "finished without writing " + missing;
      }
    }
    out.flush();
    if (code != 0) {
      err.println("-- " + s.name() + " failed after " + ProgressLine.format(elapsed) + " (" + detail + "); run again to resume");
      return new StageResult(s.name(), Status.FAILED, elapsed, code, detail);
    }
    writeMarker(c.runDir(), s.name(), fingerprint, elapsed, s.describe(c));
    err.println("-- " + s.name() + " done in " + ProgressLine.format(elapsed));
    return new StageResult(s.name(), Status.RAN, elapsed, 0, detail);
  }

  /** SHA-256 of what the stage runs and of the fingerprints its inputs finished with. */
  String fingerprint(PipelineConfig c, PipelineStage s) {
    StringBuilder sb = new StringBuilder(s.name()).append('\n').append(s.fingerprintInput(c));
    for (String input : s.inputs()) {
      sb.append('\n').append(input).append('=')
          .append(readMarker(c.runDir(), input).map(m -> m.get("fingerprint").getAsString()).orElse("absent"));
    }
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(sb.toString().getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static Path markerFile(Path runDir, String stage) {
    return runDir.resolve(MARKERS).resolve(stage + ".done.json");
  }

  private static Optional<JsonObject> readMarker(Path runDir, String stage) {
    Path f = markerFile(runDir, stage);
    if (!Files.isRegularFile(f)) {
      return Optional.empty();
    }
    try {
      JsonObject o = JsonParser.parseString(Files.readString(f)).getAsJsonObject();
      return o.has("fingerprint") && o.has("finished_at") ? Optional.of(o) : Optional.empty();
    } catch (IOException | JsonParseException | IllegalStateException e) {
      return Optional.empty(); // an unreadable marker only means the stage runs (and resumes) again
    }
  }

  private static void writeMarker(Path runDir, String stage, String fingerprint, Duration elapsed, String what) {
    JsonObject o = new JsonObject();
    o.addProperty("stage", stage);
    o.addProperty("fingerprint", fingerprint);
    o.addProperty("finished_at", Instant.now().toString());
    o.addProperty("seconds", elapsed.toMillis() / 1000.0);
    o.addProperty("ran", what);
    writeAtomically(markerFile(runDir, stage), GSON.toJson(o) + "\n");
  }

  private static void deleteMarker(Path runDir, String stage) {
    try {
      Files.deleteIfExists(markerFile(runDir, stage));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot delete " + markerFile(runDir, stage) + ": " + e.getMessage(), e);
    }
  }

  private static Path writeSummary(PipelineConfig c, List<StageResult> results, Instant started, Duration elapsed, int exit) {
    JsonObject o = new JsonObject();
    o.addProperty("config", c.origin());
    o.addProperty("run_dir", c.runDir().toString());
    o.addProperty("started_at", started.toString());
    o.addProperty("finished_at", Instant.now().toString());
    o.addProperty("seconds", elapsed.toMillis() / 1000.0);
    o.addProperty("exit_code", exit);
    JsonArray stages = new JsonArray();
    for (StageResult r : results) {
      JsonObject s = new JsonObject();
      s.addProperty("name", r.name());
      s.addProperty("status", r.status().name().toLowerCase(java.util.Locale.ROOT));
      s.addProperty("seconds", r.elapsed().toMillis() / 1000.0);
      s.addProperty("exit_code", r.exitCode());
      s.addProperty("detail", r.detail());
      stages.add(s);
    }
    o.add("stages", stages);
    Path file = c.runDir().resolve(SUMMARY);
    writeAtomically(file, GSON.toJson(o) + "\n");
    return file;
  }

  private static void printTable(PrintWriter err, List<StageResult> results, Duration elapsed, Path file) {
    err.println("\nstage         status       time    detail");
    for (StageResult r : results) {
      err.printf("%-13s %-12s %-7s %s%n", r.name(), r.status().name().toLowerCase(java.util.Locale.ROOT),
          r.status() == Status.RAN || r.status() == Status.FAILED ? ProgressLine.format(r.elapsed()) : "-", r.detail());
    }
    err.printf("total %s; summary %s%n", ProgressLine.format(elapsed), file);
    err.flush();
  }

  /** Writes {@code text} to {@code file} through a temporary sibling renamed over it (parents created). */
  static void writeAtomically(Path file, String text) {
    try {
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write " + file + ": " + e.getMessage(), e);
    }
  }
}
