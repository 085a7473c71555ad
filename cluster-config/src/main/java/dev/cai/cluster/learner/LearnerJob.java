package dev.cai.cluster.learner;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigValueType;
import dev.cai.actors.BatchingSettings;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.streams.BuiltinPrompts;
import dev.cai.streams.PromptSource;
import dev.cai.streams.RlJob;
import dev.cai.streams.RlSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The RL job a learner node runs as the cluster singleton, read from the HOCON file of {@code --rl-job FILE}:
 *
 * <pre>
 * rl-job {
 *   sl-checkpoint = "runs/exp1/sl-train/model"   # required: the SL-CAI policy (model directory or .gguf)
 *   pm = "runs/exp1/pm/model"                    # required: the preference model directory
 *   prompts = ["prompts.jsonl"]                  # required: JSONL files or builtin:NAME
 *   updates = 20                                 # required: the run stops at this policy version
 *   device = auto                                # auto | cpu | gpu
 *   settings { batch-size = 8 }                  # overrides of cai.rl
 *   batching { max-batch-size = 8 }              # overrides of cai.batching
 * }
 * </pre>
 *
 * Relative paths are relative to the file's directory. Every learner node must be started with the same job, and its
 * prompt files at the same absolute paths (the store keys prompt offsets by absolute path).
 */
public record LearnerJob(Path file, RlJob.Config config) {
  private static final Set<String> KEYS = Set.of("sl-checkpoint", "pm", "prompts", "updates", "device", "settings",
      "batching");

  /** Metrics of the run, in the node-local directory. */
  public static Path metricsFile(Path dir) {
    return dir.resolve(RlJob.METRICS_FILE);
  }

  /**
   * Reads {@code file} against the node's configuration {@code node} (for the {@code cai.rl} and {@code cai.batching}
   * defaults); {@code dir} is the node-local directory (metrics, exported policy, built-in prompt copies). Errors name
   * the file and the key.
   */
  public static LearnerJob load(Path file, Config node, Path dir) {
    Config root;
    try {
      root = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false)).resolve();
    } catch (ConfigException e) {
      throw new IllegalArgumentException("RL job " + file + " is not valid HOCON: " + e.getMessage(), e);
    }
    if (!root.hasPath("rl-job")) {
      throw new IllegalArgumentException("RL job " + file + ": no rl-job block");
    }
    Config job = root.getConfig("rl-job");
    Path base = file.toAbsolutePath().getParent();
    try {
      Set<String> unknown = new TreeSet<>(job.root().keySet());
      unknown.removeAll(KEYS);
      if (!unknown.isEmpty()) {
        throw new IllegalArgumentException("unknown key(s) " + unknown + "; rl-job has: " + new TreeSet<>(KEYS));
      }
      checkKnown(job, "settings", node.getConfig("cai.rl"), "cai.rl");
      checkKnown(job, "batching", node.getConfig("cai.batching"), "cai.batching");
      RlSettings rl = RlSettings.fromConfig(sub(job, "settings").withFallback(node.getConfig("cai.rl")));
      BatchingSettings batching = BatchingSettings.fromConfig(sub(job, "batching").withFallback(node.getConfig("cai.batching")));
      List<PromptSource> sources = new ArrayList<>();
      List<String> prompts = job.getValue("prompts").valueType() == ConfigValueType.LIST ? job.getStringList("prompts")
          : List.of(job.getString("prompts"));
      if (prompts.isEmpty()) {
        throw new IllegalArgumentException("prompts: at least one prompt file is needed");
      }
      for (String p : prompts) {
        Path resolved = p.startsWith(BuiltinPrompts.PREFIX) ? BuiltinPrompts.resolve(p, dir.resolve("prompts"))
            : base.resolve(p);
        sources.add(new PromptSource(resolved.toAbsolutePath().normalize(), false));
      }
      RlJob.Config config = new RlJob.Config(base.resolve(job.getString("sl-checkpoint")).normalize(),
          base.resolve(job.getString("pm")).normalize(), sources, rl, job.getLong("updates"), batching,
          DeviceSetting.parse(job.hasPath("device") ? job.getString("device") : "auto"),
          Optional.of(metricsFile(dir)), Optional.of(dir.resolve("model")));
      RlJob.validate(config);
      return new LearnerJob(file, config);
    } catch (ConfigException | IllegalArgumentException e) {
      throw new IllegalArgumentException("RL job " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Checks that {@code ship-every} is a multiple of {@code cai.rl.commit-every}: a checkpoint holds the learner's
   * last commit, so shipping between commits would ship the same state again.
   */
  public void checkShipEvery(LearnerHaSettings ha) {
    int commitEvery = config.rl().commitEvery();
    if (ha.shipEvery() % commitEvery != 0) {
      throw new IllegalArgumentException("cai.cluster.learner.ship-every (" + ha.shipEvery() + ") must be a multiple of "
          + "cai.rl.commit-every (" + commitEvery + " in " + file + "): a shipped checkpoint holds the last learner commit");
    }
  }

  private static Config sub(Config job, String key) {
    return job.hasPath(key) ? job.getConfig(key) : ConfigFactory.empty();
  }

  private static void checkKnown(Config job, String key, Config reference, String namespace) {
    if (!job.hasPath(key)) {
      return;
    }
    for (String k : job.getConfig(key).root().keySet()) {
      if (!reference.root().containsKey(k)) {
        throw new IllegalArgumentException(key + "." + k + ": unknown setting; " + namespace + " has: "
            + String.join(", ", new TreeSet<>(reference.root().keySet())));
      }
    }
  }
}
