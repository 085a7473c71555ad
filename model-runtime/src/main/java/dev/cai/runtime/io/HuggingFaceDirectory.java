package dev.cai.runtime.io;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.model.LlamaTensorLayout;
import dev.cai.runtime.tokenizer.HfTokenizer;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelLoadException;
import dev.cai.runtime.weights.ModelWeights;
import dev.cai.runtime.weights.TensorNames;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Loads a Hugging Face Llama model directory: {@code config.json}, the weights as one {@code model.safetensors},
 * shards listed in {@code model.safetensors.index.json}, or every {@code *.safetensors} file, widened to float32,
 * and {@code tokenizer.json} when present. Tensor names are already the canonical {@link TensorNames}.
 */
public final class HuggingFaceDirectory {
  public static final String CONFIG = "config.json";
  public static final String SINGLE_FILE = "model.safetensors";
  public static final String INDEX = "model.safetensors.index.json";
  public static final String TOKENIZER = "tokenizer.json";
  public static final String TOKENIZER_CONFIG = "tokenizer_config.json";

  /** Safetensors files of the project's checkpoints that are not model weights. */
  private static final Set<String> NOT_WEIGHTS = Set.of(CheckpointStore.OPTIMIZER, CheckpointStore.HEADS);

  /** Weights and, when the directory has a {@code tokenizer.json}, its tokenizer; closing closes the tokenizer. */
  public record LoadedModel(ModelWeights weights, Optional<HfTokenizer> tokenizer) implements AutoCloseable {
    @Override
    public void close() {
      tokenizer.ifPresent(HfTokenizer::close);
    }
  }

  private HuggingFaceDirectory() {}

  /**
   * Loads config, weights and (if present) tokenizer. Special tokens come from {@code tokenizer_config.json}
   * when there is one, else from {@code config.json}; a config without {@code pad_token_id} takes the
   * tokenizer's pad token, else EOS.
   */
  public static LoadedModel load(Path dir) throws IOException {
    requireDirectory(dir);
    Path tokFile = dir.resolve(TOKENIZER);
    if (!Files.isRegularFile(tokFile)) {
      return new LoadedModel(loadWeights(dir, readConfig(dir, OptionalInt.empty())), Optional.empty());
    }
    HfTokenizer tokenizer = null;
    try {
      LlamaConfig config;
      if (Files.isRegularFile(dir.resolve(TOKENIZER_CONFIG))) {
        tokenizer = HfTokenizer.load(tokFile);
        int pad = tokenizer.padTokenId();
        config = readConfig(dir, pad >= 0 ? OptionalInt.of(pad) : OptionalInt.empty());
      } else {
        config = readConfig(dir, OptionalInt.empty());
        tokenizer = HfTokenizer.load(tokFile, new HfTokenizer.SpecialTokens(config.bosTokenId(),
            config.eosTokenId(), HfTokenizer.SpecialTokens.distinctPad(config.padTokenId(), config.eosTokenId())));
      }
      return new LoadedModel(loadWeights(dir, config), Optional.of(tokenizer));
    } catch (IOException | RuntimeException e) {
      if (tokenizer != null) {
        tokenizer.close();
      }
      throw e;
    }
  }

  /** Loads config and weights only, validated against each other. */
  public static ModelWeights loadWeights(Path dir) throws IOException {
    requireDirectory(dir);
    return loadWeights(dir, readConfig(dir, OptionalInt.empty()));
  }

  /** Reads {@code config.json} of {@code dir}. */
  public static LlamaConfig readConfig(Path dir, OptionalInt tokenizerPad) throws IOException {
    Path file = dir.resolve(CONFIG);
    if (!Files.isRegularFile(file)) {
      throw IoErrors.invalid(dir, "no " + CONFIG + " in model directory");
    }
    return HfConfigJson.read(file, tokenizerPad);
  }

  /** Reads the weights of {@code dir} and checks them against {@code config}. */
  static ModelWeights loadWeights(Path dir, LlamaConfig config) throws IOException {
    Map<String, HostTensor> tensors = new LinkedHashMap<>();
    for (Map.Entry<Path, List<String>> shard : shards(dir).entrySet()) {
      Path file = shard.getKey();
      if (!Files.isRegularFile(file)) {
        throw IoErrors.invalid(dir.resolve(INDEX), "lists shard " + file.getFileName() + ", which does not exist");
      }
      try (SafetensorsFile f = SafetensorsFile.open(file)) {
        List<String> names = shard.getValue() == null ? List.copyOf(f.tensors().keySet()) : shard.getValue();
        for (String name : names) {
          if (name.endsWith(".rotary_emb.inv_freq")) {
            continue; // a buffer, recomputed from rope_theta
          }
          if (!f.contains(name)) {
            throw IoErrors.invalid(file, "tensor '" + name + "' is listed in " + INDEX + " but not in this shard");
          }
          if (tensors.put(name, f.readFloat32(name)) != null) {
            throw IoErrors.invalid(file, "tensor '" + name + "' appears in more than one safetensors file");
          }
        }
      }
    }
    return validated(new ModelWeights(config, tensors, dir.toString()));
  }

  /**
   * Checks a model's tensors against its config: every expected tensor with the expected shape and no
   * unexpected ones (an {@code lm_head.weight} alongside tied embeddings is dropped, as transformers does).
   */
  public static ModelWeights validated(ModelWeights w) {
    Map<String, HostTensor> tensors = new LinkedHashMap<>(w.tensors());
    if (w.config().tieWordEmbeddings()) {
      tensors.remove(TensorNames.LM_HEAD);
    }
    Set<String> expected = LlamaTensorLayout.expectedShapes(w.config()).keySet();
    List<String> unexpected = new ArrayList<>();
    for (String name : tensors.keySet()) {
      if (!expected.contains(name)) {
        unexpected.add(name);
      }
    }
    if (!unexpected.isEmpty()) {
      throw new ModelLoadException(w.source() + ": unexpected tensors for a Llama model with this config: "
          + (unexpected.size() > 5 ? unexpected.subList(0, 5) + " and " + (unexpected.size() - 5) + " more" : unexpected));
    }
    ModelWeights out = new ModelWeights(w.config(), tensors, w.source());
    try {
      LlamaTensorLayout.validate(out);
    } catch (IllegalArgumentException e) {
      throw new ModelLoadException(e.getMessage(), e);
    }
    return out;
  }

  /** Each weight file with the tensors to take from it (null: all of them). */
  private static Map<Path, List<String>> shards(Path dir) throws IOException {
    Path index = dir.resolve(INDEX);
    Map<Path, List<String>> out = new TreeMap<>();
    if (Files.isRegularFile(index)) {
      JsonObject map = readWeightMap(index);
      for (Map.Entry<String, JsonElement> e : map.entrySet()) {
        if (!e.getValue().isJsonPrimitive()) {
          throw IoErrors.invalid(index, "weight_map entry of '" + e.getKey() + "' is not a file name");
        }
        String fileName = e.getValue().getAsString();
        Path shard = dir.resolve(fileName).normalize();
        if (!dir.toAbsolutePath().normalize().equals(shard.toAbsolutePath().getParent())) {
          throw IoErrors.invalid(index, "weight_map entry of '" + e.getKey() + "' names '" + fileName
              + "', which is not a file in the model directory");
        }
        out.computeIfAbsent(shard, k -> new ArrayList<>()).add(e.getKey());
      }
      return out;
    }
    Path single = dir.resolve(SINGLE_FILE);
    if (Files.isRegularFile(single)) {
      out.put(single, null);
      return out;
    }
    try (Stream<Path> files = Files.list(dir)) {
      files.filter(p -> p.getFileName().toString().endsWith(".safetensors"))
          .filter(p -> !NOT_WEIGHTS.contains(p.getFileName().toString()))
          .forEach(p -> out.put(p, null));
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    if (out.isEmpty()) {
      throw IoErrors.invalid(dir, "no " + SINGLE_FILE + ", " + INDEX + " or other *.safetensors file");
    }
    return out;
  }

  private static JsonObject readWeightMap(Path index) throws IOException {
    try {
      JsonElement root = JsonParser.parseString(Files.readString(index, StandardCharsets.UTF_8));
      JsonElement map = root.isJsonObject() ? root.getAsJsonObject().get("weight_map") : null;
      if (map == null || !map.isJsonObject()) {
        throw IoErrors.invalid(index, "has no weight_map object");
      }
      return map.getAsJsonObject();
    } catch (JsonParseException e) {
      throw IoErrors.invalid(index, "is not valid JSON: " + e.getMessage(), e);
    }
  }

  private static void requireDirectory(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new ModelLoadException("Model directory not found: " + dir);
    }
  }
}
