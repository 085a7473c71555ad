package dev.cai.runtime.io;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelLoadException;
import dev.cai.runtime.weights.ModelWeights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.OptionalInt;
import java.util.stream.Stream;

/**
 * Saves and loads the project's checkpoint directory:
 * <pre>
 *   config.json            Hugging Face Llama keys, so HF tools read the model as-is
 *   model.safetensors      float32 weights under canonical HF names
 *   heads.safetensors      scalar heads (value/reward), if any
 *   optimizer.safetensors  AdamW moments "exp_avg.&lt;param&gt;", "exp_avg_sq.&lt;param&gt;"; step in __metadata__
 *   trainer_state.json     step, examples seen, RNG state, extra settings
 *   tokenizer.json         copied when the model has one (with its tokenizer_config.json)
 * </pre>
 * A save writes a hidden sibling directory, forces every file and the directory to disk, then swaps it in by
 * rename, so a crash leaves either the previous complete checkpoint or the new one, never a mix. Loading
 * validates every file and names the file and tensor at fault.
 */
public final class CheckpointStore {
  public static final String MODEL = HuggingFaceDirectory.SINGLE_FILE;
  public static final String HEADS = "heads.safetensors";
  public static final String OPTIMIZER = "optimizer.safetensors";
  public static final String TRAINER_STATE = "trainer_state.json";
  static final String OPTIMIZER_FORMAT = "cai-adamw-v1";
  static final String TRAINER_FORMAT = "cai-trainer-state-v1";
  static final String FIRST_MOMENT_PREFIX = "exp_avg.";
  static final String SECOND_MOMENT_PREFIX = "exp_avg_sq.";
  private static final String TMP_MARK = ".tmp-";
  private static final String OLD_MARK = ".old-";

  private CheckpointStore() {}

  /** Atomically replaces (or creates) the checkpoint directory {@code dir} with {@code c}. */
  public static void save(Path dir, Checkpoint c) throws IOException {
    Path parent = dir.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    recoverInterruptedSave(dir);
    Path tmp = parent.resolve("." + dir.getFileName() + TMP_MARK + System.nanoTime());
    Files.createDirectory(tmp);
    try {
      writeContents(tmp, c);
      forceDirectory(tmp);
      if (Files.exists(dir)) {
        Path old = parent.resolve("." + dir.getFileName() + OLD_MARK + System.nanoTime());
        Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        forceDirectory(parent);
        deleteTree(old);
      } else {
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        forceDirectory(parent);
      }
    } catch (IOException | RuntimeException e) {
      if (Files.exists(tmp)) {
        deleteTree(tmp);
      }
      throw e;
    }
  }

  /** Loads and validates the checkpoint in {@code dir} (recovering the previous one if a save was cut off mid-swap). */
  public static Checkpoint load(Path dir) throws IOException {
    recoverInterruptedSave(dir);
    if (!Files.isDirectory(dir)) {
      throw new ModelLoadException("Checkpoint directory not found: " + dir);
    }
    for (String required : List.of(HuggingFaceDirectory.CONFIG, MODEL)) {
      if (!Files.isRegularFile(dir.resolve(required))) {
        throw IoErrors.invalid(dir, "not a checkpoint: " + required + " is missing");
      }
    }
    LlamaConfig config = HfConfigJson.read(dir.resolve(HuggingFaceDirectory.CONFIG), OptionalInt.empty());
    ModelWeights model = HuggingFaceDirectory.loadWeights(dir, config);
    Map<String, HostTensor> heads = Map.of();
    if (Files.isRegularFile(dir.resolve(HEADS))) {
      try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(HEADS))) {
        heads = f.readAllFloat32();
      }
    }
    Optional<OptimizerState> optimizer = Optional.empty();
    if (Files.isRegularFile(dir.resolve(OPTIMIZER))) {
      Map<String, long[]> paramShapes = new HashMap<>();
      model.tensors().forEach((n, t) -> paramShapes.put(n, t.shape()));
      heads.forEach((n, t) -> paramShapes.put(n, t.shape()));
      optimizer = Optional.of(readOptimizer(dir.resolve(OPTIMIZER), paramShapes));
    }
    Optional<TrainerState> trainer = Optional.empty();
    if (Files.isRegularFile(dir.resolve(TRAINER_STATE))) {
      trainer = Optional.of(readTrainerState(dir.resolve(TRAINER_STATE)));
    }
    if (optimizer.isPresent() && trainer.isPresent() && optimizer.get().step() != trainer.get().step()) {
      throw IoErrors.invalid(dir, "optimizer step " + optimizer.get().step() + " (" + OPTIMIZER
          + ") differs from trainer step " + trainer.get().step() + " (" + TRAINER_STATE + ")");
    }
    Path tok = dir.resolve(HuggingFaceDirectory.TOKENIZER);
    return new Checkpoint(model, heads, optimizer, trainer,
        Files.isRegularFile(tok) ? Optional.of(tok) : Optional.empty());
  }

  private static void writeContents(Path tmp, Checkpoint c) throws IOException {
    HfConfigJson.write(tmp.resolve(HuggingFaceDirectory.CONFIG), c.model().config());
    forceFile(tmp.resolve(HuggingFaceDirectory.CONFIG));
    SafetensorsWriter.write(tmp.resolve(MODEL), c.model().tensors().values(), Map.of("format", "pt"));
    if (!c.heads().isEmpty()) {
      SafetensorsWriter.write(tmp.resolve(HEADS), c.heads().values(), Map.of("format", "pt"));
    }
    if (c.optimizer().isPresent()) {
      writeOptimizer(tmp.resolve(OPTIMIZER), c.optimizer().get());
    }
    if (c.trainerState().isPresent()) {
      writeTrainerState(tmp.resolve(TRAINER_STATE), c.trainerState().get());
    }
    if (c.tokenizerJson().isPresent()) {
      Path dst = tmp.resolve(HuggingFaceDirectory.TOKENIZER);
      Files.copy(c.tokenizerJson().get(), dst);
      forceFile(dst);
      // special tokens and chat template travel with the tokenizer when it has them
      Path config = c.tokenizerJson().get().resolveSibling(HuggingFaceDirectory.TOKENIZER_CONFIG);
      if (Files.isRegularFile(config)) {
        Files.copy(config, tmp.resolve(HuggingFaceDirectory.TOKENIZER_CONFIG));
        forceFile(tmp.resolve(HuggingFaceDirectory.TOKENIZER_CONFIG));
      }
    }
  }

  static void writeOptimizer(Path file, OptimizerState s) throws IOException {
    List<HostTensor> tensors = new ArrayList<>();
    s.firstMoments().forEach((n, t) -> tensors.add(new HostTensor(FIRST_MOMENT_PREFIX + n, t.shape(), t.data())));
    s.secondMoments().forEach((n, t) -> tensors.add(new HostTensor(SECOND_MOMENT_PREFIX + n, t.shape(), t.data())));
    Map<String, String> meta = new HashMap<>(s.hyperparameters());
    meta.put("format", OPTIMIZER_FORMAT);
    meta.put("step", Long.toString(s.step()));
    SafetensorsWriter.write(file, tensors, meta);
  }

  static OptimizerState readOptimizer(Path file, Map<String, long[]> paramShapes) throws IOException {
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      Map<String, String> meta = new HashMap<>(f.metadata());
      if (!OPTIMIZER_FORMAT.equals(meta.remove("format"))) {
        throw IoErrors.invalid(file, "__metadata__ format is not '" + OPTIMIZER_FORMAT + "'");
      }
      long step;
      try {
        step = Long.parseLong(String.valueOf(meta.remove("step")));
      } catch (NumberFormatException e) {
        throw IoErrors.invalid(file, "__metadata__ step is missing or not an integer");
      }
      if (step < 0) {
        throw IoErrors.invalid(file, "__metadata__ step " + step + " is negative");
      }
      Map<String, HostTensor> m = new LinkedHashMap<>();
      Map<String, HostTensor> v = new LinkedHashMap<>();
      for (String key : f.tensors().keySet()) {
        boolean first = key.startsWith(FIRST_MOMENT_PREFIX);
        boolean second = key.startsWith(SECOND_MOMENT_PREFIX);
        if (!first && !second) {
          throw IoErrors.invalid(file, "tensor '" + key + "' is neither " + FIRST_MOMENT_PREFIX + "* nor "
              + SECOND_MOMENT_PREFIX + "*");
        }
        String param = key.substring((first ? FIRST_MOMENT_PREFIX : SECOND_MOMENT_PREFIX).length());
        long[] want = paramShapes.get(param);
        if (want == null) {
          throw IoErrors.invalid(file, "tensor '" + key + "' belongs to no parameter of the checkpoint");
        }
        HostTensor t = f.readFloat32(key);
        if (!Arrays.equals(want, t.shape())) {
          throw IoErrors.invalid(file, "tensor '" + key + "' has shape " + Arrays.toString(t.shape())
              + " but parameter '" + param + "' has shape " + Arrays.toString(want));
        }
        (first ? m : v).put(param, new HostTensor(param, t.shape(), t.data()));
      }
      for (String param : m.keySet()) {
        if (!v.containsKey(param)) {
          throw IoErrors.invalid(file, "tensor '" + SECOND_MOMENT_PREFIX + param + "' is missing");
        }
      }
      for (String param : v.keySet()) {
        if (!m.containsKey(param)) {
          throw IoErrors.invalid(file, "tensor '" + FIRST_MOMENT_PREFIX + param + "' is missing");
        }
      }
      return new OptimizerState(step, m, v, meta);
    }
  }

  static void writeTrainerState(Path file, TrainerState s) throws IOException {
    JsonObject o = new JsonObject();
    o.addProperty("format", TRAINER_FORMAT);
    o.addProperty("step", s.step());
    o.addProperty("examples_seen", s.examplesSeen());
    o.addProperty("rng_state", Long.toHexString(s.rngState()));
    JsonObject extra = new JsonObject();
    new TreeMap<>(s.extra()).forEach(extra::addProperty);
    o.add("extra", extra);
    Files.writeString(file, new GsonBuilder().setPrettyPrinting().create().toJson(o) + "\n", StandardCharsets.UTF_8);
    forceFile(file);
  }

  static TrainerState readTrainerState(Path file) throws IOException {
    try {
      JsonElement root = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
      if (!root.isJsonObject()) {
        throw IoErrors.invalid(file, "is not a JSON object");
      }
      JsonObject o = root.getAsJsonObject();
      if (!o.has("format") || !TRAINER_FORMAT.equals(o.get("format").getAsString())) {
        throw IoErrors.invalid(file, "format is not '" + TRAINER_FORMAT + "'");
      }
      long step = longField(file, o, "step");
      long seen = longField(file, o, "examples_seen");
      long rng;
      try {
        rng = Long.parseUnsignedLong(o.get("rng_state").getAsString(), 16);
      } catch (RuntimeException e) {
        throw IoErrors.invalid(file, "rng_state is missing or not a hex string");
      }
      Map<String, String> extra = new HashMap<>();
      JsonElement ex = o.get("extra");
      if (ex != null && ex.isJsonObject()) {
        for (Map.Entry<String, JsonElement> e : ex.getAsJsonObject().entrySet()) {
          extra.put(e.getKey(), e.getValue().getAsString());
        }
      }
      try {
        return new TrainerState(step, seen, rng, extra);
      } catch (IllegalArgumentException e) {
        throw IoErrors.invalid(file, e.getMessage(), e);
      }
    } catch (JsonParseException | IllegalStateException | UnsupportedOperationException e) {
      throw IoErrors.invalid(file, "is not valid trainer state JSON: " + e.getMessage(), e);
    }
  }

  private static long longField(Path file, JsonObject o, String key) {
    JsonElement el = o.get(key);
    try {
      if (el == null || !el.isJsonPrimitive() || !el.getAsJsonPrimitive().isNumber()) {
        throw new NumberFormatException();
      }
      return el.getAsBigDecimal().longValueExact();
    } catch (NumberFormatException | ArithmeticException e) {
      throw IoErrors.invalid(file, "'" + key + "' is missing or not an integer");
    }
  }

  /**
   * Cleans what an interrupted save left next to {@code dir}: unfinished temp directories are deleted; if the
   * crash fell between the two renames (no {@code dir}, a complete previous copy set aside), the copy is restored.
   */
  private static void recoverInterruptedSave(Path dir) throws IOException {
    Path parent = dir.toAbsolutePath().getParent();
    if (!Files.isDirectory(parent)) {
      return;
    }
    String name = dir.getFileName().toString();
    List<Path> olds = new ArrayList<>();
    List<Path> tmps = new ArrayList<>();
    try (Stream<Path> siblings = Files.list(parent)) {
      siblings.forEach(p -> {
        String s = p.getFileName().toString();
        if (s.startsWith("." + name + OLD_MARK)) {
          olds.add(p);
        } else if (s.startsWith("." + name + TMP_MARK)) {
          tmps.add(p);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    for (Path t : tmps) {
      deleteTree(t);
    }
    olds.sort(Comparator.comparing(Path::toString));
    if (!Files.exists(dir) && !olds.isEmpty()) {
      Path newest = olds.remove(olds.size() - 1);
      try {
        Files.move(newest, dir, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException e) {
        olds.add(newest);
      }
    }
    for (Path o : olds) {
      deleteTree(o);
    }
  }

  /** Forces {@code file}'s contents to disk (fsync), so that a crash cannot leave it shorter than written. */
  public static void forceFile(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  /** Makes a directory's entries (renames, new files) durable; a no-op where the platform cannot open directories. */
  public static void forceDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Not supported on every OS/file system; the rename itself is still atomic.
    }
  }

  /** Deletes {@code root} and everything under it (nothing when it does not exist). */
  public static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }
}
