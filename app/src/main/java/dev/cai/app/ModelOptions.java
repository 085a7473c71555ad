package dev.cai.app;

import dev.cai.runtime.model.DeviceSetting;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options shared by commands that load a model. */
final class ModelOptions {
  @Option(names = "--model", paramLabel = "PATH",
      description = "GGUF file of the model (default: the embedded SmolLM2-135M-Instruct in models/).")
  Path model;

  @Option(names = "--device", paramLabel = "auto|cpu|gpu", defaultValue = "auto",
      description = "Where the model runs: auto picks a CUDA GPU when DJL finds one (default: ${DEFAULT-VALUE}).")
  String device;

  Path modelPath() {
    return model != null ? model : AppPaths.defaultModel();
  }

  DeviceSetting deviceSetting() {
    return DeviceSetting.parse(device);
  }
}
