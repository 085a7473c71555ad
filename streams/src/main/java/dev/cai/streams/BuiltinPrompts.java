package dev.cai.streams;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The prompt sets cai ships (written for this project): {@code builtin:red-team} (32 harmful requests for
 * demos and tests) and {@code builtin:helpful} (64 benign requests, the helpfulness mix of SL-CAI).
 */
public final class BuiltinPrompts {
  public static final String PREFIX = "builtin:";
  public static final List<String> NAMES = List.of("red-team", "helpful");

  private BuiltinPrompts() {}

  /**
   * A prompt file path for {@code spec}: a {@code builtin:NAME} set is copied into {@code dir} once (a stable
   * path, so its offset resumes); anything else is a path as given.
   */
  public static Path resolve(String spec, Path dir) {
    if (!spec.startsWith(PREFIX)) {
      return Path.of(spec);
    }
    String name = spec.substring(PREFIX.length());
    if (!NAMES.contains(name)) {
      throw new IllegalArgumentException("Unknown built-in prompt set '" + spec + "'; known: builtin:" + String.join(", builtin:", NAMES));
    }
    Path target = dir.resolve(name + ".jsonl");
    if (Files.isRegularFile(target)) {
      return target;
    }
    try (InputStream in = BuiltinPrompts.class.getResourceAsStream("/dev/cai/prompts/" + name + ".jsonl")) {
      if (in == null) {
        throw new IllegalStateException("Built-in prompt set " + name + " is missing from the classpath");
      }
      Files.createDirectories(dir);
      Path tmp = dir.resolve(name + ".jsonl.tmp");
      Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      return target;
    } catch (IOException e) {
      throw new IllegalStateException("Cannot write built-in prompt set to " + target + ": " + e.getMessage(), e);
    }
  }
}
