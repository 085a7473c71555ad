package dev.cai.actors;

import dev.cai.runtime.eval.RewardModel;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.weights.LoadedModel;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.model.LlamaModel;
import java.nio.file.Path;

/** Builds the models that model actors own, from a model path. */
public final class ModelLoading {
  private ModelLoading() {}

  /** A generation model from a GGUF file, model directory or checkpoint, on {@code device}. */
  public static GenerationModel generation(Path path, DeviceSetting device) {
    LoadedModel loaded = ModelFiles.load(path);
    return new GenerationModel(model(loaded, device), loaded.tokenizer(), loaded.chatTemplate(), loaded.modelId());
  }

  /** An OpenAI-style completion model ({@code cai serve}) from a model path, on {@code device}. */
  public static CompletionModel completion(Path path, DeviceSetting device) {
    LoadedModel loaded = ModelFiles.load(path);
    return new CompletionModel(model(loaded, device), loaded.tokenizer(), loaded.chatTemplate(), loaded.modelId());
  }

  /** A PPO policy (sampling with per-token log-probs, swappable weights) from a model path, on {@code device}. */
  public static PolicyModel policy(Path path, DeviceSetting device) {
    LoadedModel loaded = ModelFiles.load(path);
    return new PolicyModel(model(loaded, device), loaded.tokenizer(), loaded.chatTemplate(), loaded.modelId());
  }

  /** The frozen PPO reference policy, scoring at the sampling {@code temperature}, on {@code device}. */
  public static ReferenceScorer reference(Path path, DeviceSetting device, double temperature) {
    LoadedModel loaded = ModelFiles.load(path);
    LlamaModel model = model(loaded, device); // closes loaded when it fails
    loaded.close(); // scoring token ids needs no tokenizer
    return new ReferenceScorer(model, temperature, loaded.modelId());
  }

  /** An AI-feedback labeler from a GGUF file, model directory or checkpoint, on {@code device}. */
  public static FeedbackModel feedback(Path path, DeviceSetting device) {
    LoadedModel loaded = ModelFiles.load(path);
    return new FeedbackModel(model(loaded, device), loaded.tokenizer(), loaded.modelId());
  }

  /** The preference model (a {@code cai pm train} output directory), on {@code device}. */
  public static PreferenceScorer preference(Path pmDir, DeviceSetting device) {
    return new PreferenceScorer(RewardModel.load(pmDir, device), ModelFiles.modelId(pmDir));
  }

  private static LlamaModel model(LoadedModel loaded, DeviceSetting device) {
    try {
      return LlamaModel.create(loaded.weights(), device);
    } catch (RuntimeException e) {
      loaded.close();
      throw e;
    }
  }
}
