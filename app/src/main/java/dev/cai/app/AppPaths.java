package dev.cai.app;

import dev.cai.runtime.fetch.ModelArtifact;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where cai keeps its files: the install root ({@code -Dcai.home}, set by ./cai), models and runs. */
final class AppPaths {
  private AppPaths() {}

  static Path home() {
    return Path.of(System.getProperty("cai.home", System.getProperty("user.dir"))).toAbsolutePath().normalize();
  }

  static Path modelsDir() {
    return home().resolve("models");
  }

  /** The embedded default model; a clear error tells how to get it when it is missing. */
  static Path defaultModel() {
    Path p = modelsDir().resolve(ModelArtifact.SMOLLM2_135M_INSTRUCT_Q4_1.fileName());
    if (!Files.isRegularFile(p)) {
      throw new IllegalStateException("The default model " + p + " is missing: run ./cai model fetch, or pass --model PATH");
    }
    return p;
  }
}
