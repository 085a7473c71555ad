package dev.cai.runtime.io;

import java.io.IOException;
import java.nio.file.Path;

/** A model, checkpoint or config file that exists but cannot be used; the message names the file and the problem. */
public final class InvalidModelFileException extends IOException {
  private static final long serialVersionUID = 1L;

  public InvalidModelFileException(Path file, String problem) {
    super(file + ": " + problem);
  }

  public InvalidModelFileException(Path file, String problem, Throwable cause) {
    super(file + ": " + problem, cause);
  }
}
