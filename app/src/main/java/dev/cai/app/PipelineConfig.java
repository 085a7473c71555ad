package dev.cai.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.cai.runtime.fetch.ModelArtifact;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.streams.BuiltinPrompts;
import dev.cai.streams.remote.RemoteModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * A {@code cai run} pipeline: the {@code pipeline} object of a HOCON file (or of a bundled
 * {@code builtin:NAME} config under {@code pipelines/}): run directory, base model, device, the stages to run
 * and one section per stage with its inputs and {@code settings} overrides. Read whole and checked before
 * anything runs; every error names the config and the key. Relative paths resolve against the working
 * directory (the cai home for bundled configs).
 */
final class PipelineConfig {
  /** The model spec of the embedded SmolLM2-135M-Instruct (fetched by {@code cai model fetch}). */
  static final String EMBEDDED = "embedded";
  /** The model spec of the pipeline's base model ({@code pipeline.model}). */
  static final String BASE = "base";
  /** The model spec of the SL-CAI model the sl-train stage writes ({@code RUN_DIR/sl-train/model}). */
  static final String SL = "sl";

  private static final String ROOT = "pipeline";
  private static final Set<String> TOP_KEYS = Set.of("run-dir", "model", "device", "stages", "batching");

  private final String origin;
  private final Config pipeline;
  private final Path baseDir;
  private final Path runDir;
  private final String model;
  private final String device;
  private final List<String> stages;

  private PipelineConfig(String origin, Config pipeline, Path baseDir, List<String> knownStages) {
    this.origin = origin;
    this.pipeline = pipeline;
    this.baseDir = baseDir;
    for (String key : pipeline.root().keySet()) {
      if (!TOP_KEYS.contains(key) && !knownStages.contains(key)) {
        throw error(key, "unknown key; known: " + String.join(", ", TOP_KEYS.stream().sorted().toList()) + ", and a section per "
            + "stage (" + String.join(", ", knownStages) + ")");
      }
    }
    this.runDir = path("run-dir", string(pipeline, "run-dir", null));
    this.model = string(pipeline, "model", EMBEDDED);
    if (!model.equals(EMBEDDED)) {
      requireExists("model", path("model", model), "model");
    }
    this.device = string(pipeline, "device", "auto");
    try {
      DeviceSetting.parse(device);
    } catch (IllegalArgumentException e) {
      throw error("device", e.getMessage());
    }
    this.stages = stageList(knownStages);
    checkSettings("batching", "cai.batching", Map.of());
  }

  /**
   * Reads {@code spec} (a file, or {@code builtin:NAME} for a bundled config) with {@code overrides} (e.g. from
   * command-line options, as {@code pipeline.*} paths) on top, and checks its top level.
   *
   * @param knownStages every stage name, in pipeline order
   */
  static PipelineConfig load(String spec, Config overrides, List<String> knownStages) {
    Config parsed;
    String origin;
    Path baseDir;
    try {
      if (spec.startsWith("builtin:")) {
        String name = spec.substring("builtin:".length());
        origin = spec + " (pipelines/" + name + ".conf)";
        parsed = ConfigFactory.parseResources(PipelineConfig.class.getClassLoader(), "pipelines/" + name + ".conf",
            ConfigParseOptions.defaults().setAllowMissing(false));
        baseDir = AppPaths.home();
      } else {
        Path file = Path.of(spec).toAbsolutePath().normalize();
        origin = file.toString();
        if (!Files.isRegularFile(file)) {
          throw new PipelineConfigException(origin + ": pipeline config does not exist");
        }
        parsed = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
        baseDir = Path.of("").toAbsolutePath();
      }
    } catch (ConfigException.IO e) {
      throw new PipelineConfigException(spec + ": no such pipeline config" + (spec.startsWith("builtin:")
          ? " (bundled: builtin:demo, builtin:experiment)" : "") + ": " + e.getMessage());
    } catch (ConfigException e) {
      throw new PipelineConfigException(spec + ": not valid HOCON: " + e.getMessage());
    }
    return of(overrides.withFallback(parsed), origin, baseDir, knownStages);
  }

  /** Checks the top level of an already parsed config (tests, and {@link #load}). */
  static PipelineConfig of(Config root, String origin, Path baseDir, List<String> knownStages) {
    Config resolved;
    try {
      resolved = root.resolve();
    } catch (ConfigException e) {
      throw new PipelineConfigException(origin + ": " + e.getMessage());
    }
    if (!resolved.hasPath(ROOT) || resolved.getValue(ROOT).valueType() != ConfigValueType.OBJECT) {
      throw new PipelineConfigException(origin + ": pipeline: missing; the config needs a pipeline { ... } object");
    }
    return new PipelineConfig(origin, resolved.getConfig(ROOT), baseDir, knownStages);
  }

  /** Where the config came from, for messages. */
  String origin() {
    return origin;
  }

  Path runDir() {
    return runDir;
  }

  String device() {
    return device;
  }

  /** The stages to run, in pipeline order. */
  List<String> stages() {
    return stages;
  }

  /** The embedded model's path (it may still have to be fetched). */
  static Path embeddedModel() {
    return AppPaths.modelsDir().resolve(ModelArtifact.SMOLLM2_135M_INSTRUCT_Q4_1.fileName());
  }

  /** The base model's path. */
  Path baseModel() {
    return model.equals(EMBEDDED) ? embeddedModel() : path("model", model);
  }

  /** Whether a stage section was written for {@code stage}. */
  boolean hasSection(String stage) {
    return pipeline.hasPath(stage);
  }

  /** The keys of {@code stage}'s section must be among {@code allowed} ({@code settings} is always allowed). */
  void checkKeys(String stage, Set<String> allowed) {
    Config s = section(stage);
    for (String key : s.root().keySet()) {
      if (!allowed.contains(key) && !key.equals("settings")) {
        Set<String> all = new TreeSet<>(allowed);
        all.add("settings");
        throw error(stage + "." + key, "unknown key; " + stage + " takes: " + String.join(", ", all));
      }
    }
  }

  /** A string of a stage section, or {@code fallback} (null = required). */
  String string(String stage, String key, String fallback) {
    return string(section(stage), stage + "." + key, key, fallback);
  }

  /** A whole number >= 0 of a stage section, or {@code fallback}. */
  long count(String stage, String key, long fallback) {
    Config s = section(stage);
    if (!s.hasPath(key)) {
      return fallback;
    }
    ConfigValue v = s.getValue(key);
    if (v.valueType() != ConfigValueType.NUMBER || !(v.unwrapped() instanceof Integer || v.unwrapped() instanceof Long)
        || ((Number) v.unwrapped()).longValue() < 0) {
      throw error(stage + "." + key, "must be a whole number >= 0; got " + v.render());
    }
    return ((Number) v.unwrapped()).longValue();
  }

  /** An optional existing file of a stage section. */
  Optional<Path> file(String stage, String key) {
    if (!section(stage).hasPath(key)) {
      return Optional.empty();
    }
    Path p = path(stage + "." + key, string(stage, key, null));
    requireExists(stage + "." + key, p, "file");
    return Optional.of(p);
  }

  /**
   * A prompt set of a stage section: {@code builtin:NAME} or an existing JSONL file; {@code allowNone} admits
   * {@code "none"}. Returns it as the commands take it (a built-in name, or an absolute path).
   */
  String prompts(String stage, String key, String fallback, boolean allowNone) {
    String spec = string(stage, key, fallback);
    if (allowNone && spec.equals("none")) {
      return spec;
    }
    if (spec.startsWith(BuiltinPrompts.PREFIX)) {
      if (!BuiltinPrompts.NAMES.contains(spec.substring(BuiltinPrompts.PREFIX.length()))) {
        throw error(stage + "." + key, "unknown built-in prompt set '" + spec + "'; known: builtin:"
            + String.join(", builtin:", BuiltinPrompts.NAMES));
      }
      return spec;
    }
    Path p = path(stage + "." + key, spec);
    requireExists(stage + "." + key, p, "prompt file");
    return p.toString();
  }

  /**
   * A model of a stage section: {@code embedded}, {@code base} (pipeline.model), {@code sl} (the SL-CAI model
   * in RUN_DIR/sl-train/model, which must exist or be made by a selected sl-train stage), or a path.
   */
  Path model(String stage, String key, String fallback) {
    String spec = string(stage, key, fallback);
    String where = stage + "." + key;
    switch (spec) {
      case EMBEDDED:
        return embeddedModel();
      case BASE:
        return baseModel();
      case SL: {
        Path p = slModel();
        if (!stages.contains("sl-train") && !Files.exists(p)) {
          throw error(where, "'sl' is the SL-CAI model " + p + ", which does not exist and sl-train is not among "
              + "pipeline.stages; add sl-train or name a model");
        }
        return p;
      }
      default: {
        Path p = path(where, spec);
        requireExists(where, p, "model");
        return p;
      }
    }
  }

  /**
   * A model of a stage section that may also be a remote model: {@code openai:BASE_URL#MODEL...} (checked, returned
   * as written), else as {@link #model}. Returns it as the commands take it.
   */
  String modelSpec(String stage, String key, String fallback) {
    String spec = string(stage, key, fallback);
    if (RemoteModel.isRemote(spec)) {
      try {
        RemoteModel.parse(spec);
      } catch (IllegalArgumentException e) {
        throw error(stage + "." + key, e.getMessage());
      }
      return spec;
    }
    return model(stage, key, fallback).toString();
  }

  /** Where the sl-train stage writes the SL-CAI model. */
  Path slModel() {
    return runDir.resolve("sl-train/model");
  }

  /**
   * Checks {@code stage.settings} against the defaults in {@code namespace} (e.g. {@code cai.sl}): every key must
   * exist there and read as the same type; the keys of {@code excluded} belong to the stage they map to.
   */
  void checkSettings(String stage, String namespace, Map<String, String> excluded) {
    String where = stage.equals("batching") ? "batching" : stage + ".settings";
    Config settings = settingsAt(where);
    Config reference = ConfigFactory.defaultReference();
    Config defaults = reference.hasPath(namespace) ? reference.getConfig(namespace) : null;
    Config merged = CaiConfig.merged(settings.atPath(namespace));
    for (Map.Entry<String, ConfigValue> e : settings.entrySet()) {
      String key = e.getKey();
      String top = key.contains(".") ? key.substring(0, key.indexOf('.')) : key;
      if (excluded.containsKey(top)) {
        throw error(where + "." + key, namespace + "." + top + " is set in pipeline." + excluded.get(top) + ".settings");
      }
      if (defaults == null) {
        continue; // no reference for this namespace in this build: nothing to check against
      }
      if (!defaults.hasPath(key)) {
        Set<String> known = new TreeSet<>();
        defaults.entrySet().forEach(d -> {
          String k = d.getKey();
          String kt = k.contains(".") ? k.substring(0, k.indexOf('.')) : k;
          if (!excluded.containsKey(kt)) {
            known.add(k);
          }
        });
        throw error(where + "." + key, "unknown setting; " + namespace + " has: " + String.join(", ", known));
      }
      try {
        readAs(merged, namespace + "." + key, defaults.getValue(key));
      } catch (ConfigException ex) {
        throw error(where + "." + key, "bad value " + e.getValue().render() + ": " + shortMessage(ex));
      }
    }
  }

  /** Runs {@code check} on the effective configuration of {@code stage}; a failure names its settings. */
  void checkSettingValues(String stage, Consumer<Config> check) {
    try {
      check.accept(CaiConfig.merged(overrides(stage)));
    } catch (ConfigException e) {
      throw error(stage + ".settings", shortMessage(e));
    } catch (IllegalArgumentException e) {
      throw error(stage + ".settings", e.getMessage());
    }
  }

  /**
   * The configuration overrides in effect while {@code stage} runs: its {@code settings} at its namespace
   * ({@code cai.sl}, ...) and {@code pipeline.batching} at {@code cai.batching}.
   */
  Config overrides(String stage) {
    Config c = settingsAt("batching").atPath("cai.batching");
    String ns = PipelineStages.NAMESPACES.get(stage);
    if (ns != null) {
      c = settingsAt(stage + ".settings").atPath(ns).withFallback(c);
    }
    return c;
  }

  /** An error naming this config and {@code pipeline.KEY}. */
  PipelineConfigException error(String key, String problem) {
    return new PipelineConfigException(origin + ": " + ROOT + "." + key + ": " + problem);
  }

  private Config section(String stage) {
    if (!pipeline.hasPath(stage)) {
      return ConfigFactory.empty();
    }
    if (pipeline.getValue(stage).valueType() != ConfigValueType.OBJECT) {
      throw error(stage, "must be an object { ... }");
    }
    return pipeline.getConfig(stage);
  }

  private Config settingsAt(String path) {
    if (!pipeline.hasPath(path)) {
      return ConfigFactory.empty();
    }
    if (pipeline.getValue(path).valueType() != ConfigValueType.OBJECT) {
      throw error(path, "must be an object { key = value, ... }");
    }
    return pipeline.getConfig(path);
  }

  private List<String> stageList(List<String> knownStages) {
    if (!pipeline.hasPath("stages")) {
      throw error("stages", "missing; list the stages to run, e.g. [" + String.join(", ", knownStages) + "]");
    }
    ConfigValue v = pipeline.getValue("stages");
    if (v.valueType() != ConfigValueType.LIST) {
      throw error("stages", "must be a list, e.g. [" + String.join(", ", knownStages) + "]; got " + v.render());
    }
    Set<String> chosen = new LinkedHashSet<>();
    for (Object o : (List<?>) v.unwrapped()) {
      String name = String.valueOf(o);
      if (!knownStages.contains(name)) {
        throw error("stages", "unknown stage '" + name + "'; known: " + String.join(", ", knownStages));
      }
      if (!chosen.add(name)) {
        throw error("stages", "stage '" + name + "' is listed twice");
      }
    }
    if (chosen.isEmpty()) {
      throw error("stages", "is empty; list at least one of " + String.join(", ", knownStages));
    }
    List<String> ordered = new ArrayList<>();
    knownStages.stream().filter(chosen::contains).forEach(ordered::add); // stages run in pipeline order
    return List.copyOf(ordered);
  }

  private String string(Config c, String where, String key, String fallback) {
    if (!c.hasPath(key)) {
      if (fallback == null) {
        throw error(where, "missing");
      }
      return fallback;
    }
    ConfigValue v = c.getValue(key);
    if (v.valueType() != ConfigValueType.STRING || ((String) v.unwrapped()).isBlank()) {
      throw error(where, "must be a non-empty string; got " + v.render());
    }
    return (String) v.unwrapped();
  }

  private String string(Config c, String key, String fallback) {
    return string(c, key, key, fallback);
  }

  private Path path(String where, String value) {
    try {
      return baseDir.resolve(value).toAbsolutePath().normalize();
    } catch (java.nio.file.InvalidPathException e) {
      throw error(where, "not a valid path: " + e.getMessage());
    }
  }

  private void requireExists(String where, Path p, String what) {
    if (!Files.exists(p)) {
      throw error(where, what + " " + p + " does not exist");
    }
  }

  /** Reads {@code path} with the getter its default's type calls for. */
  private static void readAs(Config c, String path, ConfigValue reference) {
    switch (reference.valueType()) {
      case BOOLEAN -> c.getBoolean(path);
      case NUMBER -> {
        if (reference.unwrapped() instanceof Integer || reference.unwrapped() instanceof Long) {
          c.getLong(path);
        } else {
          c.getDouble(path);
        }
      }
      case STRING -> {
        if (isDuration(reference)) {
          c.getDuration(path);
        } else {
          c.getString(path);
        }
      }
      case LIST -> c.getList(path);
      case OBJECT -> c.getConfig(path);
      default -> { }
    }
  }

  private static boolean isDuration(ConfigValue v) {
    try {
      ConfigFactory.empty().withValue("d", v).getDuration("d");
      return true;
    } catch (ConfigException e) {
      return false;
    }
  }

  /** A typesafe-config message without its origin prefix (the caller names the file and key). */
  private static String shortMessage(ConfigException e) {
    String m = e.getMessage();
    String prefix = e.origin() == null ? null : e.origin().description() + ": ";
    return prefix != null && m.startsWith(prefix) ? m.substring(prefix.length()) : m;
  }

  /** A pipeline config that cannot run; the message names the config and the key. */
  static final class PipelineConfigException extends IllegalArgumentException {
    PipelineConfigException(String message) {
      super(message);
    }
  }
}
