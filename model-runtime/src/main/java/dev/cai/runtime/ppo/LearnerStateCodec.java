package dev.cai.runtime.ppo;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnsafeByteOperations;
import dev.cai.protocol.Codecs;
import dev.cai.protocol.v1.DType;
import dev.cai.protocol.v1.LearnerStateHeader;
import dev.cai.protocol.v1.PolicyWeightsChunk;
import dev.cai.protocol.v1.SourceOffset;
import dev.cai.runtime.io.Checkpoint;
import dev.cai.runtime.io.OptimizerState;
import dev.cai.runtime.io.TrainerState;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.train.Trainer;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelWeights;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * A {@link LearnerSnapshot} as byte values for the record store's learner-state column family: one
 * {@code PolicyWeightsChunk} per tensor (float32 little-endian, with its SHA-256), stored under a content-addressed
 * blob key {@code <model>/<part>/<tensor>@<sha256>} ({@code policy|critic} / {@code weights|heads|adam.m|adam.v}),
 * and a {@link LearnerStateHeader} whose {@code tensor_names} list the blob keys of one snapshot and which carries
 * version, β, RNG state and optimizer steps.
 *
 * <p>How a learner commits (atomic without one giant batch: a 135M-parameter policy and critic with Adam moments
 * are 3.2 GB): {@link #encode} hands each blob to a writer one at a time (write each in its own small commit; an
 * unreferenced blob is invisible), then the header is committed atomically together with the input offsets and the
 * deletion of the blobs the new header no longer references ({@link #blobKeys}). A crash before the header commit
 * leaves the previous header and its blobs intact; leftovers are deleted by the next commit. How a learner restores
 * (again without the whole state in memory): {@link #restore} reads one blob at a time and hands its checked tensor
 * straight to the learner ({@link PpoLearner#restoreTarget()}). {@link #restore} and {@link #decode} check all of it:
 * a missing, mis-shaped, foreign or corrupt blob is an {@link IllegalStateException} naming the store and the tensor,
 * never a silent reset.
 */
public final class LearnerStateCodec {
  /** Layout version of the values; a newer one is refused. */
  public static final int SCHEMA_VERSION = 1;
  static final String OPTIMIZER_ID = "adamw/ppo-learner";

  private LearnerStateCodec() {}

  /** Name of the learner-state value that holds the header (the record store's own {@code header} name). */
  public static final String HEADER = "header";

  /**
   * Writes every tensor of {@code s} as a blob through {@code putBlob(key, bytes)}, one at a time, and returns the
   * header that references them (commit it last, atomically with the offsets).
   */
  public static LearnerStateHeader encode(LearnerSnapshot s, List<SourceOffset> inputOffsets,
      BiConsumer<String, byte[]> putBlob) {
    return encode(of(s), inputOffsets, putBlob);
  }

  /**
   * The state to encode, read one tensor at a time: {@link PpoLearner#state()} reads it from the live learner (at
   * most one tensor on the heap at once); {@link #of(LearnerSnapshot)} from a snapshot in memory.
   */
  public interface StateSource {
    long version();

    double klCoef();

    long rngState();

    /** Optimizer steps of {@code role} ({@code policy} or {@code critic}). */
    long optimizerStep(String role);

    Map<String, String> hyperparameters(String role);

    Map<String, String> trainerAttributes(String role);

    /** Every tensor of {@code role}: parts weights, heads, adam.m, adam.v in this order, names sorted in a part. */
    void exportTensors(String role, Trainer.StateVisitor visitor);
  }

  /** A snapshot in memory as a {@link StateSource}. */
  public static StateSource of(LearnerSnapshot s) {
    return new StateSource() {
      @Override
      public long version() {
        return s.version();
      }

      @Override
      public double klCoef() {
        return s.klCoef();
      }

      @Override
      public long rngState() {
        return s.rngState();
      }

      private Checkpoint c(String role) {
        return role.equals("policy") ? s.policy() : s.critic();
      }

      @Override
      public long optimizerStep(String role) {
        return c(role).optimizer().orElseThrow().step();
      }

      @Override
      public Map<String, String> hyperparameters(String role) {
        return c(role).optimizer().orElseThrow().hyperparameters();
      }

      @Override
      public Map<String, String> trainerAttributes(String role) {
        return c(role).trainerState().map(TrainerState::extra).orElse(Map.of());
      }

      @Override
      public void exportTensors(String role, Trainer.StateVisitor visitor) {
        Checkpoint c = c(role);
        OptimizerState o = c.optimizer().orElseThrow();
        sorted(c.model().tensors()).forEach(t -> visitor.visit("weights", t));
        sorted(c.heads()).forEach(t -> visitor.visit("heads", t));
        sorted(o.firstMoments()).forEach(t -> visitor.visit("adam.m", t));
        sorted(o.secondMoments()).forEach(t -> visitor.visit("adam.v", t));
      }
    };
  }

  private static List<HostTensor> sorted(Map<String, HostTensor> tensors) {
    return tensors.values().stream().sorted((a, b) -> a.name().compareTo(b.name())).toList();
  }

  /** Writes every tensor of {@code s} as a blob through {@code putBlob}, one at a time, and returns the header. */
  public static LearnerStateHeader encode(StateSource s, List<SourceOffset> inputOffsets,
      BiConsumer<String, byte[]> putBlob) {
    LearnerStateHeader.Builder h = LearnerStateHeader.newBuilder()
        .setStep(s.version())
        .setPolicyVersion(s.version())
        .setKlCoef(s.klCoef())
        .setRngState(ByteString.copyFrom(ByteBuffer.allocate(Long.BYTES).putLong(s.rngState()).array()))
        .setOptimizerId(OPTIMIZER_ID)
        .setSchemaVersion(SCHEMA_VERSION)
        .setCommittedAtMs(System.currentTimeMillis())
        .addAllInputOffsets(inputOffsets);
    for (String role : List.of("policy", "critic")) {
      s.exportTensors(role, (part, t) -> put(putBlob, h, s.version(), role + "/" + part + "/", t));
      h.putAttributes(role + ".optimizer_step", Long.toString(s.optimizerStep(role)));
      s.hyperparameters(role).forEach((k, v) -> h.putAttributes(role + ".adam." + k, v));
      s.trainerAttributes(role).forEach((k, v) -> h.putAttributes(role + ".trainer." + k, v));
    }
    return h.build();
  }

  /** The blob keys {@code header} references. */
  public static Set<String> blobKeys(LearnerStateHeader header) {
    return new LinkedHashSet<>(header.getTensorNamesList());
  }

  /** Whether a learner-state value name is a blob key (not the header or another value). */
  public static boolean isBlobKey(String name) {
    return name.matches("(policy|critic)/[^/]+/.+@[0-9a-f]{64}");
  }

  private static void put(BiConsumer<String, byte[]> out, LearnerStateHeader.Builder h, long version, String prefix,
      HostTensor t) {
    String name = prefix + t.name();
    byte[] data = floatBytes(t.data());
    PolicyWeightsChunk chunk = PolicyWeightsChunk.newBuilder()
        .setVersion(version)
        .setTensorName(name)
        .addAllShape(Arrays.stream(t.shape()).boxed().toList())
        .setDtype(DType.FLOAT32)
        .setData(UnsafeByteOperations.unsafeWrap(data)) // data is ours and never changes: no copy
        .setChunkIndex(0)
        .setChunkCount(1)
        .setTensorSha256(sha256(data))
        .build();
    String key = name + "@" + chunk.getTensorSha256();
    out.accept(key, Codecs.POLICY_WEIGHTS_CHUNK.encode(chunk));
    h.addTensorNames(key);
  }

  /** The scalars of a stored learner state, read from its header. */
  public record Scalars(long version, double klCoef, long rngState, long policyOptimizerStep, long criticOptimizerStep) {
    /** Optimizer steps of {@code role} ({@code policy} or {@code critic}). */
    public long optimizerStep(String role) {
      return role.equals("policy") ? policyOptimizerStep : criticOptimizerStep;
    }
  }

  /** Receives the checked tensors of a stored learner state one at a time ({@link #restore}). */
  public interface StateTarget {
    /**
     * Tensor {@code name} of {@code role}'s {@code part} (as {@link StateSource#exportTensors} names them) with its
     * float32 values, little-endian, in {@code data}: read-only and valid during the call only. A tensor that does
     * not fit the target is an {@link IllegalArgumentException}.
     */
    void tensor(String role, String part, String name, long[] shape, ByteBuffer data);

    /** After the last tensor: the scalars; a state that left something out is an {@link IllegalArgumentException}. */
    void finish(Scalars scalars);
  }

  /**
   * Loads the state {@code header} references into {@code target} one tensor at a time, reading each blob with
   * {@code getBlob} (empty when absent) only when its turn comes: the heap holds at most one blob (the largest tensor,
   * e.g. the 49152×576 embedding: 113 MB) instead of the whole state. {@code where} names the store in errors. The
   * header is checked before the first tensor; a missing, mis-shaped, corrupt or foreign tensor, or one the target
   * refuses, is an {@link IllegalStateException} naming the store and the tensor. After a failure the target holds a
   * mix of states (for a learner: close it; the stored state itself is untouched).
   */
  public static void restore(LearnerStateHeader header, Function<String, Optional<byte[]>> getBlob, String where,
      StateTarget target) {
    Scalars scalars = scalars(header, where);
    read(header, getBlob, where, (role, part, name, shape, data) -> {
      try {
        target.tensor(role, part, name, shape, data);
      } catch (IllegalArgumentException e) {
        throw new IllegalStateException("Learner state in " + where + ": tensor '" + role + "/" + part + "/" + name
            + "' does not fit the learner: " + e.getMessage(), e);
      }
    });
    try {
      target.finish(scalars);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException("Learner state in " + where + " is inconsistent: " + e.getMessage(), e);
    }
  }

  /**
   * The snapshot {@code header} references, all in host memory (for tools and tests; a learner restores with
   * {@link #restore}), reading each blob with {@code getBlob} (empty when absent); {@code where} names the store in
   * errors. Missing, mis-shaped or corrupt tensors throw {@link IllegalStateException}.
   */
  public static LearnerSnapshot decode(LearnerStateHeader header, Function<String, Optional<byte[]>> getBlob,
      LlamaConfig policyConfig, LlamaConfig criticConfig, String where) {
    Scalars scalars = scalars(header, where);
    Map<String, Map<String, HostTensor>> parts = new LinkedHashMap<>();
    read(header, getBlob, where, (role, part, name, shape, data) -> {
      float[] f = new float[Math.toIntExact(data.remaining() / Float.BYTES)];
      data.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
      parts.computeIfAbsent(role + "/" + part + "/", k -> new LinkedHashMap<>()).put(name, new HostTensor(name, shape, f));
    });
    return new LearnerSnapshot(scalars.version(), scalars.klCoef(), scalars.rngState(),
        checkpoint("policy", policyConfig, parts, header, scalars, where),
        checkpoint("critic", criticConfig, parts, header, scalars, where));
  }

  /** The header's scalars, after checking its schema, optimizer, RNG state and optimizer steps. */
  private static Scalars scalars(LearnerStateHeader header, String where) {
    if (header.getSchemaVersion() > SCHEMA_VERSION) {
      throw new IllegalStateException("Learner state in " + where + " has schema version " + header.getSchemaVersion()
          + "; this build reads up to " + SCHEMA_VERSION);
    }
    if (!OPTIMIZER_ID.equals(header.getOptimizerId())) {
      throw new IllegalStateException("Learner state in " + where + " was written by optimizer '"
          + header.getOptimizerId() + "', not '" + OPTIMIZER_ID + "'");
    }
    if (header.getRngState().size() != Long.BYTES) {
      throw new IllegalStateException("Learner state in " + where + " has an RNG state of " + header.getRngState().size()
          + " bytes, expected " + Long.BYTES);
    }
    try {
      LearnerSnapshot.check(header.getPolicyVersion(), header.getKlCoef());
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException("Learner state in " + where + ": " + e.getMessage(), e);
    }
    long rng = ByteBuffer.wrap(header.getRngState().toByteArray()).getLong();
    return new Scalars(header.getPolicyVersion(), header.getKlCoef(), rng, optimizerStep("policy", header, where),
        optimizerStep("critic", header, where));
  }

  private static long optimizerStep(String role, LearnerStateHeader header, String where) {
    String stepText = header.getAttributesOrDefault(role + ".optimizer_step", null);
    if (stepText == null) {
      throw new IllegalStateException("Learner state in " + where + " has no " + role + ".optimizer_step");
    }
    try {
      return Long.parseLong(stepText);
    } catch (NumberFormatException e) {
      throw new IllegalStateException("Learner state in " + where + " has " + role + ".optimizer_step '" + stepText + "'");
    }
  }

  /** Receives one checked tensor of {@link #read}. */
  @FunctionalInterface
  private interface TensorSink {
    void accept(String role, String part, String name, long[] shape, ByteBuffer data);
  }

  /** Reads, checks and hands over every tensor {@code header} lists, in its order, one blob on the heap at a time. */
  private static void read(LearnerStateHeader header, Function<String, Optional<byte[]>> getBlob, String where,
      TensorSink sink) {
    for (String key : header.getTensorNamesList()) {
      if (!isBlobKey(key)) {
        throw new IllegalStateException("Learner state in " + where + " lists '" + key + "', which is not a tensor blob key");
      }
      int at = key.lastIndexOf('@');
      String name = key.substring(0, at);
      byte[] bytes = getBlob.apply(key).orElseThrow(() -> new IllegalStateException("Learner state in " + where
          + " lists tensor '" + name + "' but its blob " + key.substring(at + 1, at + 13) + "… is missing"));
      PolicyWeightsChunk c = chunk(name, key.substring(at + 1), bytes, header.getPolicyVersion(), where);
      int roleEnd = name.indexOf('/');
      int partEnd = name.indexOf('/', roleEnd + 1);
      sink.accept(name.substring(0, roleEnd), name.substring(roleEnd + 1, partEnd), name.substring(partEnd + 1),
          c.getShapeList().stream().mapToLong(Long::longValue).toArray(), c.getData().asReadOnlyByteBuffer());
    }
  }

  private static Checkpoint checkpoint(String role, LlamaConfig config, Map<String, Map<String, HostTensor>> parts,
      LearnerStateHeader header, Scalars scalars, String where) {
    Map<String, HostTensor> weights = parts.getOrDefault(role + "/weights/", Map.of());
    if (weights.isEmpty()) {
      throw new IllegalStateException("Learner state in " + where + " has no " + role + " weights");
    }
    long step = scalars.optimizerStep(role);
    Map<String, String> hyper = new LinkedHashMap<>();
    Map<String, String> extra = new LinkedHashMap<>();
    header.getAttributesMap().forEach((k, v) -> {
      if (k.startsWith(role + ".adam.")) {
        hyper.put(k.substring((role + ".adam.").length()), v);
      } else if (k.startsWith(role + ".trainer.")) {
        extra.put(k.substring((role + ".trainer.").length()), v);
      }
    });
    try {
      OptimizerState o = new OptimizerState(step, parts.getOrDefault(role + "/adam.m/", Map.of()),
          parts.getOrDefault(role + "/adam.v/", Map.of()), hyper);
      return new Checkpoint(new ModelWeights(config, weights, where + " learner state (" + role + ")"),
          parts.getOrDefault(role + "/heads/", Map.of()), Optional.of(o),
          Optional.of(new TrainerState(step, header.getPolicyVersion(), 0L, extra)), Optional.empty());
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException("Learner state in " + where + " is inconsistent (" + role + "): " + e.getMessage(), e);
    }
  }

  /**
   * The chunk in {@code bytes} after checking it against its key and header: its data aliases {@code bytes} (parsed
   * without a copy; the SHA-256 is computed over it in place).
   */
  private static PolicyWeightsChunk chunk(String name, String keySha, byte[] bytes, long version, String where) {
    PolicyWeightsChunk c;
    try {
      CodedInputStream in = CodedInputStream.newInstance(bytes);
      in.enableAliasing(true); // bytes is this call's own copy of the blob: the data field wraps it
      c = PolicyWeightsChunk.parseFrom(in);
    } catch (IOException e) {
      throw new IllegalStateException("Learner state in " + where + ": tensor '" + name + "' is not readable: "
          + e.getMessage(), e);
    }
    String problem = null;
    long numel = c.getShapeList().stream().mapToLong(Long::longValue).reduce(1, (a, b) -> a * b);
    if (!c.getTensorName().equals(name)) {
      problem = "holds tensor '" + c.getTensorName() + "'";
    } else if (c.getVersion() != version) {
      problem = "belongs to policy version " + c.getVersion() + ", the header to " + version;
    } else if (c.getDtype() != DType.FLOAT32 || c.getChunkCount() != 1) {
      problem = "has dtype " + c.getDtype() + " in " + c.getChunkCount() + " chunks (expected one FLOAT32 chunk)";
    } else if (c.getShapeList().stream().anyMatch(d -> d < 0) || numel * Float.BYTES != c.getData().size()) {
      problem = "has " + c.getData().size() + " bytes for shape " + c.getShapeList();
    } else if (!keySha.equals(c.getTensorSha256())) {
      problem = "holds a blob of other content than its key names";
    } else if (!sha256(c.getData().asReadOnlyByteBuffer()).equals(c.getTensorSha256())) {
      problem = "fails its SHA-256 check (corrupt)";
    }
    if (problem != null) {
      throw new IllegalStateException("Learner state in " + where + ": tensor '" + name + "' " + problem);
    }
    return c;
  }

  static byte[] floatBytes(float[] data) {
    ByteBuffer b = ByteBuffer.allocate(data.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(data);
    return b.array();
  }

  /** SHA-256 of {@code data}, lower-case hex. */
  public static String sha256(byte[] data) {
    return sha256(ByteBuffer.wrap(data));
  }

  private static String sha256(ByteBuffer data) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(data.duplicate());
      return HexFormat.of().formatHex(d.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
