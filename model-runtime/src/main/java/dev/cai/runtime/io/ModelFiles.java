package dev.cai.runtime.io;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.cai.runtime.gguf.GgufFile;
import dev.cai.runtime.gguf.GgufLoader;
import dev.cai.runtime.tokenizer.ChatTemplate;
import dev.cai.runtime.tokenizer.HfTokenizer;
import dev.cai.runtime.weights.LoadedModel;
import dev.cai.runtime.weights.ModelLoadException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads a model from any path a user gives: a GGUF file, or a directory in the Hugging Face layout
 * ({@code config.json}, {@code *.safetensors}, {@code tokenizer.json}, optional {@code tokenizer_config.json}
 * with the chat template) — which is also the layout of cai's own checkpoints.
 */
public final class ModelFiles {
  private ModelFiles() {}

  public static LoadedModel load(Path path) {
    if (Files.isRegularFile(path) && path.getFileName().toString().endsWith(".gguf")) {
      return GgufLoader.load(path);
    }
    if (!Files.isDirectory(path)) {
      throw new ModelLoadException("Model path " + path + " is neither a .gguf file nor a model directory "
          + "(config.json + *.safetensors + tokenizer.json)");
    }
    HuggingFaceDirectory.LoadedModel m;
    try {
      m = HuggingFaceDirectory.load(path);
    } catch (IOException e) {
      throw new ModelLoadException("Cannot read model directory " + path + ": " + e.getMessage(), e);
    }
    if (m.tokenizer().isEmpty()) {
      throw new ModelLoadException("Model directory " + path + " has no " + HuggingFaceDirectory.TOKENIZER);
    }
    HfTokenizer tokenizer = m.tokenizer().get();
    try {
      return new LoadedModel(m.weights(), tokenizer, chatTemplate(path), modelId(path));
    } catch (RuntimeException e) {
      tokenizer.close();
      throw e;
    }
  }

  /**
   * The id recorded for the model at {@code path}: a file's name without its extension; for a directory its
   * last three path elements (e.g. {@code demo/sl-train/model}), since checkpoint directories share names.
   */
  public static String modelId(Path path) {
    Path p = path.toAbsolutePath().normalize();
    if (Files.isDirectory(p)) {
      int n = p.getNameCount();
      return p.subpath(Math.max(0, n - 3), n).toString();
    }
    String name = p.getFileName().toString();
    int dot = name.lastIndexOf('.');
    return dot > 0 ? name.substring(0, dot) : name;
  }

  /** The chat format of the model at {@code path}, read from metadata only (no weights are loaded). */
  public static ChatTemplate chatTemplateOf(Path path) {
    if (Files.isRegularFile(path) && path.getFileName().toString().endsWith(".gguf")) {
      return GgufLoader.chatTemplate(GgufFile.read(path));
    }
    return chatTemplate(path);
  }

  /** The chat template named by {@code tokenizer_config.json}'s {@code chat_template}, else the plain transcript. */
  static ChatTemplate chatTemplate(Path dir) {
    Path config = dir.resolve(HuggingFaceDirectory.TOKENIZER_CONFIG);
    if (!Files.isRegularFile(config)) {
      return ChatTemplate.transcript();
    }
    try {
      JsonObject root = JsonParser.parseString(Files.readString(config, StandardCharsets.UTF_8)).getAsJsonObject();
      JsonElement t = root.get("chat_template");
      return ChatTemplate.fromJinja(t != null && t.isJsonPrimitive() ? t.getAsString() : null);
    } catch (IOException | JsonParseException | IllegalStateException e) {
      throw new ModelLoadException("Cannot read " + config + ": " + e.getMessage(), e);
    }
  }
}
