package dev.cai.persistence;

import com.google.protobuf.Message;
import dev.cai.protocol.Codecs;
import dev.cai.protocol.v1.LearnerStateHeader;
import dev.cai.protocol.v1.SourceOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Everything one atomic commit writes: appended records, the source offsets they consumed, learner
 * state values and run metadata. {@link RecordStore#commit} writes all of it in one batch or nothing.
 * Not thread-safe; build one per commit.
 */
public final class Commit {
  /** One record to append. */
  record Append<M extends Message>(RecordKind<M> kind, M record) {
    byte[] encode() {
      return kind.codec().encode(record);
    }
  }

  /** Metadata keys with this prefix belong to the store itself. */
  static final String RESERVED_METADATA_PREFIX = "cai.";

  private final List<Append<?>> appends = new ArrayList<>();
  private final Map<String, Long> offsets = new LinkedHashMap<>();
  private final Map<String, byte[]> learnerPuts = new LinkedHashMap<>();
  private final Set<String> learnerDeletes = new LinkedHashSet<>();
  private final Map<String, String> metadata = new LinkedHashMap<>();

  /** Appends one record of {@code kind}; records get consecutive sequence numbers in call order. */
  public <M extends Message> Commit append(RecordKind<M> kind, M record) {
    appends.add(new Append<>(Objects.requireNonNull(kind, "kind"), Objects.requireNonNull(record, "record")));
    return this;
  }

  public <M extends Message> Commit appendAll(RecordKind<M> kind, Iterable<? extends M> records) {
    records.forEach(record -> append(kind, record));
    return this;
  }

  /**
   * Records that {@code source} has been consumed up to {@code offset}: the position the stream resumes
   * from after a restart (for a JSONL file, the index of the next line to read). Offsets never go back.
   */
  public Commit offset(String source, long offset) {
    if (Objects.requireNonNull(source, "source").isEmpty()) {
      throw new IllegalArgumentException("source must not be empty");
    }
    if (offset < 0) {
      throw new IllegalArgumentException("offset of " + source + " must be >= 0: " + offset);
    }
    offsets.put(source, offset);
    return this;
  }

  public Commit offset(SourceOffset offset) {
    return offset(offset.getSource(), offset.getOffset());
  }

  /** Stores one named learner-state value (a header or a tensor's bytes), replacing an older one. */
  public Commit putLearnerState(String name, byte[] value) {
    requireName(name);
    learnerDeletes.remove(name);
    learnerPuts.put(name, Objects.requireNonNull(value, "value").clone());
    return this;
  }

  /** Stores the learner's header under {@value RecordStore#LEARNER_HEADER}. */
  public Commit putLearnerHeader(LearnerStateHeader header) {
    return putLearnerState(RecordStore.LEARNER_HEADER, Codecs.LEARNER_STATE_HEADER.encode(header));
  }

  public Commit deleteLearnerState(String name) {
    requireName(name);
    learnerPuts.remove(name);
    learnerDeletes.add(name);
    return this;
  }

  /** Stores one run-metadata entry; keys starting with {@value #RESERVED_METADATA_PREFIX} are the store's own. */
  public Commit putMetadata(String key, String value) {
    requireName(key);
    if (key.startsWith(RESERVED_METADATA_PREFIX)) {
      throw new IllegalArgumentException("metadata key '" + key + "' is reserved (prefix "
          + RESERVED_METADATA_PREFIX + ")");
    }
    metadata.put(key, Objects.requireNonNull(value, "value"));
    return this;
  }

  public boolean isEmpty() {
    return appends.isEmpty() && offsets.isEmpty() && learnerPuts.isEmpty() && learnerDeletes.isEmpty()
        && metadata.isEmpty();
  }

  List<Append<?>> appends() {
    return Collections.unmodifiableList(appends);
  }

  Map<String, Long> offsets() {
    return Collections.unmodifiableMap(offsets);
  }

  Map<String, byte[]> learnerPuts() {
    return Collections.unmodifiableMap(learnerPuts);
  }

  Set<String> learnerDeletes() {
    return Collections.unmodifiableSet(learnerDeletes);
  }

  Map<String, String> metadata() {
    return Collections.unmodifiableMap(metadata);
  }

  private static void requireName(String name) {
    if (Objects.requireNonNull(name, "name").isEmpty()) {
      throw new IllegalArgumentException("name must not be empty");
    }
  }
}
