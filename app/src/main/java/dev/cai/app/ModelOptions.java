package dev.cai.app;

import dev.cai.runtime.model.DeviceSetting;
import dev.cai.streams.ModelSpec;
import dev.cai.streams.remote.RemoteModel;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options shared by commands that load a model. */
final class ModelOptions {
  @Option(names = "--model", paramLabel = "PATH",
      description = "GGUF file or model directory of the model (default: the embedded SmolLM2-135M-Instruct in models/); "
          + "sl generate and label also take a remote model " + RemoteModel.SCHEME + "BASE_URL#MODEL or the workers of a "
          + "cluster, cluster:policy (see README).")
  String model;

  @Option(names = "--device", paramLabel = "auto|cpu|gpu", defaultValue = "auto",
      description = "Where the model runs: auto picks a CUDA GPU when DJL finds one (default: ${DEFAULT-VALUE}).")
  String device;

  /** The local model path; a remote model spec is refused, since this command loads the model itself. */
  Path modelPath() {
    ModelSpec spec = modelSpec();
    if (spec instanceof ModelSpec.Local local) {
      return local.path();
    }
    throw new IllegalArgumentException("--model " + model + ": this command needs a local model (a GGUF file or model "
        + "directory); remote models serve only sl generate (--model, --critic-model) and label (--model, --feedback-model)");
  }

  /** The model as given: a local path (the embedded model by default) or a remote model spec. */
  ModelSpec modelSpec() {
    return model != null ? ModelSpec.parse(model) : ModelSpec.local(AppPaths.defaultModel());
  }

  DeviceSetting deviceSetting() {
    return DeviceSetting.parse(device);
  }
}
