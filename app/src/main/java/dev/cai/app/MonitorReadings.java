package dev.cai.app;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.cai.actors.ModelMeters;
import dev.cai.runtime.ppo.UpdateStats;
import dev.cai.streams.SampleFeed;
import dev.cai.streams.StageMeter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One reading of every meter the monitor shows, and the two JSON forms made of readings: the dashboard's snapshot
 * (rates between two readings) and the run directory's {@code metrics.jsonl} line (counts since a baseline). The JSON
 * functions are pure: readings in, JSON out.
 */
record MonitorReadings(long timeMs, String phase, List<Stage> stages, List<Model> models, Optional<UpdateStats> learner,
    double updates, double updateMeanMs, List<AppMeters.TrainingReading> training, Memory memory) {

  /** One stage of a graph: cumulative counts and its state now. */
  record Stage(String graph, String stage, double elements, double tokens, int inFlight, int capacity, double bufferFill,
      double latencyMeanMs, double latencyMaxMs) {
    String key() {
      return graph + "/" + stage;
    }
  }

  /** One model role: cumulative batches and means. */
  record Model(String model, long batches, double meanBatchSize, int queueLength, double queueWaitMeanMs,
      double forwardMeanMs) {}

  /** Heap and process memory (the resident set includes PyTorch's native memory). */
  record Memory(long heapUsedBytes, long heapMaxBytes, long residentBytes) {}

  /** Reads every meter now. */
  static MonitorReadings now(String phase) {
    List<Stage> stages = new ArrayList<>();
    for (StageMeter m : StageMeter.all()) {
      stages.add(new Stage(m.graph(), m.stage(), m.elements(), m.tokens(), m.inFlight(), m.capacity(), m.bufferFill(),
          m.latencyMeanMs(), m.latencyMaxMs()));
    }
    stages.sort(java.util.Comparator.comparingInt(s -> graphOrder(s.graph()))); // stable: stage order kept
    List<Model> models = new ArrayList<>();
    for (ModelMeters m : ModelMeters.all()) {
      models.add(new Model(m.model(), m.batches(), m.meanBatchSize(), m.queueLength(), m.queueWaitMeanMs(),
          m.forwardMeanMs()));
    }
    Runtime rt = Runtime.getRuntime();
    Memory memory = new Memory(rt.totalMemory() - rt.freeMemory(), rt.maxMemory(), ProcessMemory.residentBytes());
    return new MonitorReadings(System.currentTimeMillis(), phase, stages, models, AppMeters.lastUpdate(),
        AppMeters.updates(), AppMeters.updateMeanMs(), AppMeters.training(), memory);
  }

  private static int graphOrder(String graph) {
    return switch (graph) {
      case "sl" -> 0;
      case "label" -> 1;
      case "rl" -> 2;
      default -> 3;
    };
  }

  /**
   * The dashboard snapshot: this reading, with elements/s and tokens/s against {@code previous} (0 without one, or for a
   * stage it did not have), and {@code samples}.
   */
  JsonObject snapshot(Optional<MonitorReadings> previous, List<SampleFeed.Sample> samples) {
    return snapshotWithoutHistory(previous, samples);
  }

  /**
   * The dashboard snapshot with the curves so far ({@code history}: the PPO and training points of this process), which a
   * dashboard that connects late draws first.
   */
  JsonObject snapshot(Optional<MonitorReadings> previous, List<SampleFeed.Sample> samples,
      List<AppMeters.LearnerPoint> learnerHistory, List<AppMeters.TrainPoint> trainingHistory) {
    JsonObject o = snapshotWithoutHistory(previous, samples);
    JsonObject history = new JsonObject();
    JsonArray lh = new JsonArray();
    for (AppMeters.LearnerPoint p : learnerHistory) {
      JsonObject j = new JsonObject();
      j.addProperty("policyVersion", p.policyVersion());
      j.add("score", num(p.score()));
      j.add("kl", num(p.kl()));
      lh.add(j);
    }
    history.add("learner", lh);
    JsonArray th = new JsonArray();
    for (AppMeters.TrainPoint p : trainingHistory) {
      JsonObject j = new JsonObject();
      j.addProperty("stage", p.stage());
      j.addProperty("step", p.step());
      j.add("loss", num(p.loss()));
      th.add(j);
    }
    history.add("training", th);
    o.add("history", history);
    return o;
  }

  private JsonObject snapshotWithoutHistory(Optional<MonitorReadings> previous, List<SampleFeed.Sample> samples) {
    Map<String, Stage> before = new HashMap<>();
    previous.ifPresent(p -> p.stages().forEach(s -> before.put(s.key(), s)));
    double secs = previous.map(p -> (timeMs - p.timeMs()) / 1000.0).orElse(0.0);
    JsonObject o = new JsonObject();
    o.addProperty("timeMs", timeMs);
    o.addProperty("phase", phase);
    JsonArray st = new JsonArray();
    for (Stage s : stages) {
      Stage b = before.get(s.key());
      JsonObject j = new JsonObject();
      j.addProperty("graph", s.graph());
      j.addProperty("stage", s.stage());
      j.add("elements", num(s.elements()));
      j.add("elementsPerSec", num(rate(s.elements(), b == null ? Double.NaN : b.elements(), secs)));
      j.add("tokens", num(s.tokens()));
      j.add("tokensPerSec", num(rate(s.tokens(), b == null ? Double.NaN : b.tokens(), secs)));
      j.addProperty("inFlight", s.inFlight());
      j.addProperty("capacity", s.capacity());
      j.add("bufferFill", num(s.bufferFill()));
      j.add("latencyMeanMs", num(s.latencyMeanMs()));
      j.add("latencyMaxMs", num(s.latencyMaxMs()));
      st.add(j);
    }
    o.add("stages", st);
    JsonArray ms = new JsonArray();
    for (Model m : models) {
      JsonObject j = new JsonObject();
      j.addProperty("model", m.model());
      j.addProperty("batches", m.batches());
      j.add("meanBatchSize", num(m.meanBatchSize()));
      j.addProperty("queueLength", m.queueLength());
      j.add("queueWaitMeanMs", num(m.queueWaitMeanMs()));
      j.add("forwardMeanMs", num(m.forwardMeanMs()));
      ms.add(j);
    }
    o.add("models", ms);
    o.add("learner", learner.<com.google.gson.JsonElement>map(u -> {
      JsonObject j = new JsonObject();
      j.add("updates", num(updates));
      j.addProperty("policyVersion", u.version());
      j.add("score", num(u.meanScore()));
      j.add("kl", num(u.kl()));
      j.add("klCoef", num(u.klCoef()));
      j.add("approxKl", num(u.approxKl()));
      j.add("clipFraction", num(u.clipFraction()));
      j.add("entropy", num(u.entropy()));
      j.add("policyLoss", num(u.policyLoss()));
      j.add("valueLoss", num(u.valueLoss()));
      j.add("staleness", num(AppMeters.meanStaleness(u)));
      j.add("updateMeanMs", num(updateMeanMs));
      return j;
    }).orElse(JsonNull.INSTANCE));
    JsonArray tr = new JsonArray();
    for (AppMeters.TrainingReading t : training) {
      JsonObject j = new JsonObject();
      j.addProperty("stage", t.stage());
      j.add("steps", num(t.steps()));
      j.add("loss", num(t.loss()));
      tr.add(j);
    }
    o.add("training", tr);
    JsonObject mem = new JsonObject();
    mem.addProperty("heapUsedBytes", memory.heapUsedBytes());
    mem.addProperty("heapMaxBytes", memory.heapMaxBytes());
    mem.add("residentBytes", memory.residentBytes() < 0 ? JsonNull.INSTANCE : new JsonPrimitive(memory.residentBytes()));
    o.add("memory", mem);
    JsonArray sa = new JsonArray();
    for (SampleFeed.Sample s : samples) {
      JsonObject j = new JsonObject();
      j.addProperty("seq", s.seq());
      j.addProperty("kind", s.kind());
      j.addProperty("timeMs", s.timeMs());
      s.fields().forEach((k, v) -> {
        if (v instanceof Number n) {
          j.add(k, num(n.doubleValue()));
        } else {
          j.addProperty(k, String.valueOf(v));
        }
      });
      sa.add(j);
    }
    o.add("samples", sa);
    return o;
  }

  /**
   * The {@code metrics.jsonl} line: stage and model counts since {@code baseline} (the reading when the phase started;
   * a stage or model absent from it counts from 0).
   */
  JsonObject journalLine(MonitorReadings baseline) {
    Map<String, Stage> base = new HashMap<>();
    baseline.stages().forEach(s -> base.put(s.key(), s));
    Map<String, Model> baseModels = new HashMap<>();
    baseline.models().forEach(m -> baseModels.put(m.model(), m));
    JsonObject o = new JsonObject();
    o.addProperty("time_ms", timeMs);
    o.addProperty("phase", phase);
    o.addProperty("phase_start_ms", baseline.timeMs());
    JsonArray st = new JsonArray();
    for (Stage s : stages) {
      Stage b = base.get(s.key());
      JsonObject j = new JsonObject();
      j.addProperty("graph", s.graph());
      j.addProperty("stage", s.stage());
      j.add("elements", num(s.elements() - (b == null ? 0 : b.elements())));
      j.add("tokens", num(s.tokens() - (b == null ? 0 : b.tokens())));
      j.addProperty("in_flight", s.inFlight());
      j.addProperty("capacity", s.capacity());
      j.add("buffer_fill", num(s.bufferFill()));
      j.add("latency_mean_ms", num(s.latencyMeanMs()));
      st.add(j);
    }
    o.add("stages", st);
    JsonArray ms = new JsonArray();
    for (Model m : models) {
      Model b = baseModels.get(m.model());
      JsonObject j = new JsonObject();
      j.addProperty("model", m.model());
      j.addProperty("batches", m.batches() - (b == null ? 0 : b.batches()));
      j.add("mean_batch_size", num(m.meanBatchSize()));
      j.add("queue_wait_mean_ms", num(m.queueWaitMeanMs()));
      j.add("forward_mean_ms", num(m.forwardMeanMs()));
      ms.add(j);
    }
    o.add("models", ms);
    JsonObject mem = new JsonObject();
    mem.addProperty("heap_used_bytes", memory.heapUsedBytes());
    mem.add("resident_bytes", memory.residentBytes() < 0 ? JsonNull.INSTANCE : new JsonPrimitive(memory.residentBytes()));
    o.add("memory", mem);
    return o;
  }

  /** (now − before) / secs; 0 when there is no earlier value or no time passed; never negative. */
  static double rate(double now, double before, double secs) {
    if (Double.isNaN(before) || !(secs > 0)) {
      return 0;
    }
    return Math.max(0, (now - before) / secs);
  }

  /** A JSON number, or null for NaN and infinities (which JSON cannot hold). */
  static com.google.gson.JsonElement num(double v) {
    return Double.isFinite(v) ? new JsonPrimitive(v) : JsonNull.INSTANCE;
  }
}
