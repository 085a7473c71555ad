package dev.cai.streams;

import dev.cai.runtime.io.ModelFiles;
import dev.cai.streams.remote.RemoteModel;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Where a frozen model role (SL-CAI's answering/critiquing model, the labeler) runs: a local model (a GGUF file or a
 * model directory) loaded into a model actor, or a {@link RemoteModel} on an OpenAI-compatible server, written
 * {@code openai:BASE_URL#MODEL}, or the model workers of a cluster role, written {@code cluster:ROLE} (see
 * {@link ClusterModel}).
 */
public sealed interface ModelSpec permits ModelSpec.Local, ModelSpec.Remote, ModelSpec.Cluster {
  /** A spec that looks like a URL with another scheme ({@code vllm://...}, {@code http://...}): a mistake, not a path. */
  Pattern OTHER_SCHEME = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]+:(//.*|http.*)");

  /** A local model path. */
  record Local(Path path) implements ModelSpec {
    public Local {
      Objects.requireNonNull(path, "path");
    }

    @Override
    public String id() {
      return ModelFiles.modelId(path);
    }

    @Override
    public String describe() {
      return String.valueOf(path.getFileName());
    }
  }

  /** A model served over the OpenAI-compatible HTTP API. */
  record Remote(RemoteModel model) implements ModelSpec {
    public Remote {
      Objects.requireNonNull(model, "model");
    }

    @Override
    public String id() {
      return model.id();
    }

    @Override
    public String describe() {
      return model.id();
    }
  }

  /**
   * The {@code cai node} workers of a cluster role ({@code policy} or {@code feedback}), wherever they run; the
   * model id recorded is the one the workers report when the job connects.
   */
  record Cluster(String role) implements ModelSpec {
    /** The prefix of a cluster model spec. */
    public static final String SCHEME = "cluster:";
    /** The roles whose nodes run model workers. */
    public static final java.util.List<String> ROLES = java.util.List.of("policy", "feedback");

    public Cluster {
      if (!ROLES.contains(role)) {
        throw new IllegalArgumentException("model spec '" + SCHEME + role + "': the role must be one of " + ROLES);
      }
    }

    @Override
    public String id() {
      return SCHEME + role;
    }

    @Override
    public String describe() {
      return role + " workers of the cluster";
    }
  }

  /** The id recorded on examples and comparisons made by this model. */
  String id();

  /** A short name for progress lines. */
  String describe();

  /**
   * Parses a command-line or config model spec: {@code openai:BASE_URL#MODEL[?...]} is remote (see
   * {@link RemoteModel}), anything else a local path; a URL with another scheme fails with the remote syntax.
   */
  static ModelSpec parse(String spec) {
    if (spec == null || spec.isBlank()) {
      throw new IllegalArgumentException("model spec is empty");
    }
    if (spec.startsWith(Cluster.SCHEME)) {
      return new Cluster(spec.substring(Cluster.SCHEME.length()));
    }
    if (RemoteModel.isRemote(spec)) {
      return new Remote(RemoteModel.parse(spec));
    }
    if (OTHER_SCHEME.matcher(spec).matches()) {
      throw new IllegalArgumentException("model spec '" + spec + "': unknown backend '" + spec.substring(0, spec.indexOf(':'))
          + "'; a remote model is written " + RemoteModel.SYNTAX + ", a local one as a path");
    }
    try {
      return new Local(Path.of(spec));
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException("model spec '" + spec + "' is not a valid path: " + e.getMessage(), e);
    }
  }

  /** A local model at {@code path}. */
  static ModelSpec local(Path path) {
    return new Local(path);
  }
}
