package dev.cai.runtime.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cai.runtime.io.CheckpointStore;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.io.SafetensorsFile;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.train.PreferenceData;
import dev.cai.runtime.train.ScalarHead;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.LoadedModel;
import dev.cai.runtime.weights.ModelLoadException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A trained preference model for scoring: the LM trunk plus the reward head, read at each sequence's last real
 * token, with the normalisation gain/bias stored beside it ({@value #NORMALIZATION}: scores of reference-policy
 * samples get mean 0, std 1).
 */
public final class RewardModel implements AutoCloseable {
  public static final String NORMALIZATION = "reward_normalization.json";
  private static final int BATCH = 8;

  private final LoadedModel loaded;
  private final LlamaModel model;
  private final ScalarHead head;
  private final double gain;
  private final double bias;

  private RewardModel(LoadedModel loaded, LlamaModel model, ScalarHead head, double gain, double bias) {
    this.loaded = loaded;
    this.model = model;
    this.head = head;
    this.gain = gain;
    this.bias = bias;
  }

  /** Loads a PM checkpoint directory written by {@code cai pm train}. */
  public static RewardModel load(Path dir, DeviceSetting device) {
    Path heads = dir.resolve(CheckpointStore.HEADS);
    if (!Files.isRegularFile(heads)) {
      throw new ModelLoadException("Preference model " + dir + " has no " + CheckpointStore.HEADS + " (reward head)");
    }
    LoadedModel loaded = ModelFiles.load(dir);
    LlamaModel model = null;
    try {
      model = LlamaModel.create(loaded.weights(), device);
      ScalarHead head;
      try (SafetensorsFile f = SafetensorsFile.open(heads)) {
        head = ScalarHead.fromTensors(ScalarHead.REWARD_HEAD, loaded.weights().config().hiddenSize(), f.readAllFloat32(),
            model.manager());
      }
      double gain = 1;
      double bias = 0;
      Path norm = dir.resolve(NORMALIZATION);
      if (Files.isRegularFile(norm)) {
        JsonObject o = JsonParser.parseString(Files.readString(norm, StandardCharsets.UTF_8)).getAsJsonObject();
        gain = o.get("gain").getAsDouble();
        bias = o.get("bias").getAsDouble();
      }
      return new RewardModel(loaded, model, head, gain, bias);
    } catch (IOException | RuntimeException e) {
      if (model != null) {
        model.close();
      }
      loaded.close();
      throw e instanceof ModelLoadException m ? m : new ModelLoadException("Cannot load preference model " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Raw (unnormalised) scores of {@code response} after each conversation. */
  public double[] rawScores(List<List<ChatMessage>> conversations, List<String> responses) {
    List<int[]> seqs = new ArrayList<>();
    for (int i = 0; i < conversations.size(); i++) {
      seqs.add(PreferenceData.sequence(conversations.get(i), responses.get(i), loaded.chatTemplate(), loaded.tokenizer()));
    }
    return rawScores(seqs);
  }

  /** Raw scores of both replies of each comparison: A then B, comparison after comparison. */
  public double[] rawScoresOfBoth(List<PreferenceData.Example> comparisons) {
    List<List<ChatMessage>> conversations = new ArrayList<>();
    List<String> replies = new ArrayList<>();
    for (PreferenceData.Example e : comparisons) {
      conversations.add(e.conversation());
      replies.add(e.a());
      conversations.add(e.conversation());
      replies.add(e.b());
    }
    return rawScores(conversations, replies);
  }

  /** Raw scores of token sequences, in batches of {@value #BATCH}. */
  public double[] rawScores(List<int[]> sequences) {
    double[] out = new double[sequences.size()];
    for (int start = 0; start < sequences.size(); start += BATCH) {
      List<int[]> group = sequences.subList(start, Math.min(sequences.size(), start + BATCH));
      var rows = PreferenceData.rightPadded(group, Math.max(loaded.weights().config().padTokenId(), 0));
      try (NDManager m = model.manager().newSubManager()) {
        NDArray mask = rows.attentionMask(m);
        float[] r = head.atLastToken(model.inferenceHidden(rows.inputIds(m), mask), mask).toFloatArray();
        for (int i = 0; i < r.length; i++) {
          out[start + i] = r[i];
        }
      }
    }
    return out;
  }

  /**
   * The reward head tensors of the PM directory {@code pm} ({@code cai pm train}'s PM_DIR/model); a missing directory,
   * heads file or reward head fails naming the path.
   */
  public static Map<String, HostTensor> rewardHead(Path pm) {
    if (!Files.isDirectory(pm)) {
      throw new IllegalArgumentException("Preference model " + pm + " is not a directory (cai pm train writes PM_DIR/model)");
    }
    Path heads = pm.resolve(CheckpointStore.HEADS);
    if (!Files.isRegularFile(heads)) {
      throw new IllegalArgumentException("Preference model " + pm + " has no reward head: " + CheckpointStore.HEADS
          + " is missing");
    }
    Map<String, HostTensor> out = new LinkedHashMap<>();
    try (SafetensorsFile f = SafetensorsFile.open(heads)) {
      f.readAllFloat32().forEach((name, t) -> {
        if (name.startsWith(ScalarHead.REWARD_HEAD + ".")) {
          out.put(name, t);
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the reward head " + heads + ": " + e.getMessage(), e);
    }
    if (!out.containsKey(ScalarHead.weightName(ScalarHead.REWARD_HEAD))) {
      throw new IllegalArgumentException("Preference model " + pm + " has no reward head: " + heads + " lacks "
          + ScalarHead.weightName(ScalarHead.REWARD_HEAD));
    }
    return out;
  }

  /** gain · raw + bias. */
  public double normalize(double raw) {
    return gain * raw + bias;
  }

  /** Writes the gain/bias that give {@code rawScores} mean 0 and std 1 (population) into {@code dir}. */
  public static JsonObject writeNormalization(Path dir, double[] rawScores) throws IOException {
    double mean = 0;
    for (double r : rawScores) {
      mean += r / rawScores.length;
    }
    double var = 0;
    for (double r : rawScores) {
      var += (r - mean) * (r - mean) / rawScores.length;
    }
    double std = Math.sqrt(var) + 1e-8;
    JsonObject o = new JsonObject();
    o.addProperty("gain", 1 / std);
    o.addProperty("bias", -mean / std);
    o.addProperty("raw_mean", mean);
    o.addProperty("raw_std", std);
    o.addProperty("samples", rawScores.length);
    Path tmp = dir.resolve(NORMALIZATION + ".tmp");
    Files.writeString(tmp, o.toString(), StandardCharsets.UTF_8);
    Files.move(tmp, dir.resolve(NORMALIZATION), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    return o;
  }

  /** Longest sequence the trunk accepts. */
  public int maxSequenceLength() {
    return model.maxSequenceLength();
  }

  public LoadedModel loaded() {
    return loaded;
  }

  @Override
  public void close() {
    // head and model share the model's manager; close the model, then the tokenizer
    head.close();
    model.close();
    loaded.close();
  }
}
