package dev.cai.runtime.gguf;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;

/** Test helpers: locating the real embedded model, and rewriting GGUF files with edits to make bad inputs. */
public final class GgufTestFiles {
  public static final String SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf";

  private GgufTestFiles() {}

  /** The repository root: the nearest ancestor of the working directory holding model-runtime/ and pom.xml. */
  public static Path repoRoot() {
    Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("model-runtime")) && Files.isRegularFile(p.resolve("pom.xml"))) {
        return p;
      }
    }
    return dir;
  }

  /** The models directory: system property {@code cai.models.dir}, default {@code <repo>/models}. */
  public static Path modelsDir() {
    String prop = System.getProperty("cai.models.dir");
    return prop != null && !prop.isBlank() ? Path.of(prop) : repoRoot().resolve("models");
  }

  /** The embedded SmolLM2 GGUF, or a test failure that says how to get it. */
  public static Path smolLm2() {
    Path file = modelsDir().resolve(SMOLLM2_FILE);
    if (!Files.isRegularFile(file)) {
      fail("The embedded model " + file + " is missing. Run `./cai model fetch` (or set -Dcai.models.dir to the "
          + "directory holding " + SMOLLM2_FILE + ").");
    }
    return file;
  }

  /**
   * Copies {@code src} to {@code dst}, dropping metadata keys and tensors matched by the predicates and then
   * applying {@code edit} (which may add keys or tensors) to the writer.
   */
  public static void rewrite(Path src, Path dst, Predicate<String> dropKey, Predicate<String> dropTensor,
      Consumer<GgufWriter> edit) throws IOException {
    GgufFile in = GgufFile.read(src);
    GgufWriter out = new GgufWriter((int) in.alignment());
    in.metadata().forEach((key, value) -> {
      if (!dropKey.test(key) && !key.equals("general.alignment")) {
        copy(out, key, value);
      }
    });
    for (GgufFile.TensorInfo t : in.tensors()) {
      if (!dropTensor.test(t.name())) {
        out.addRawTensor(t.name(), t.ne(), t.type().id, in.readBytes(t));
      }
    }
    edit.accept(out);
    out.write(dst);
  }

  private static void copy(GgufWriter out, String key, Object value) {
    if (value instanceof String s) {
      out.putString(key, s);
    } else if (value instanceof Long l) {
      out.putU32(key, l);
    } else if (value instanceof Float f) {
      out.putF32(key, f);
    } else if (value instanceof Double d) {
      out.putF64(key, d);
    } else if (value instanceof Boolean b) {
      out.putBool(key, b);
    } else if (value instanceof List<?> list && !list.isEmpty() && list.get(0) instanceof String) {
      out.putStrings(key, list.stream().map(String.class::cast).toList());
    } else if (value instanceof List<?> list) {
      out.putI32s(key, list.stream().mapToInt(o -> (int) (long) (Long) o).toArray());
    } else {
      throw new IllegalArgumentException("Cannot copy " + key);
    }
  }
}
