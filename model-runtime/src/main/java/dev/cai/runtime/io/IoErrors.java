package dev.cai.runtime.io;

import dev.cai.runtime.weights.ModelLoadException;
import java.nio.file.Path;

/** Builds the loaders' errors in one shape: {@code <file>: <problem>}. */
final class IoErrors {
  private IoErrors() {}

  static ModelLoadException invalid(Path file, String problem) {
    return new ModelLoadException(file + ": " + problem);
  }

  static ModelLoadException invalid(Path file, String problem, Throwable cause) {
    return new ModelLoadException(file + ": " + problem, cause);
  }
}
