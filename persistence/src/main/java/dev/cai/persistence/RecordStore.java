package dev.cai.persistence;

import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import dev.cai.protocol.Codecs;
import dev.cai.protocol.ProtocolException;
import dev.cai.protocol.v1.LearnerStateHeader;
import dev.cai.protocol.v1.SourceOffset;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The typed store of one run: records of each {@link RecordKind} in insertion order, the offsets of
 * the input streams they were produced from, learner state, run metadata and checkpoints, over a
 * {@link KvStore} with one column family per kind of data.
 *
 * <p>Exactly-once resumption: a stream commits its records together with the offset of the input it
 * consumed ({@link #commit}); both land in one atomic batch, so after a crash the store holds either
 * the records and the new offset or neither, and {@link #resumeOffset} tells the stream where to
 * restart without duplicating or skipping input. Durability is described in {@link StoreSettings}.
 *
 * <p>Thread-safe: commits and checkpoints are serialized; reads run concurrently.
 */
public final class RecordStore implements AutoCloseable {
  /** Named learner-state values: a header and tensors (weights, optimizer moments) as bytes. */
  public static final String LEARNER_STATE = "learner_state";
  /** Name of the learner-state value that holds the {@link LearnerStateHeader}. */
  public static final String LEARNER_HEADER = "header";
  /** The checkpoint index: one entry per checkpoint, keyed by its name. */
  public static final String CHECKPOINTS_INDEX = "checkpoints_index";
  /** The committed offset of each input stream, keyed by source name. */
  public static final String STREAM_OFFSETS = "stream_offsets";
  /** Run metadata, including the store marker and its schema version. */
  public static final String RUN_METADATA = "run_metadata";

  private static final Set<String> COLUMN_FAMILIES = columnFamiliesInOrder();
  /** What a checkpoint name may be: a plain directory name (it names the checkpoint's directory). */
  public static final Pattern CHECKPOINT_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
  private static final JsonFormat.Printer JSON = JsonFormat.printer()
      .omittingInsignificantWhitespace()
      .preservingProtoFieldNames();

  private final KvStore kv;
  private final String location;
  /** Next sequence number of each record kind; guarded by {@code this}. */
  private final Map<RecordKind<?>, Long> nextSequences = new HashMap<>();
  private volatile CommitObserver observer = CommitObserver.NONE;

  /** Told about every commit written (e.g. to meter commit latency and bytes); called on the committing thread. */
  @FunctionalInterface
  public interface CommitObserver {
    CommitObserver NONE = (records, bytes, nanos) -> { };

    /** A commit of {@code records} appended records and {@code bytes} bytes was written in {@code nanos}. */
    void committed(int records, long bytes, long nanos);
  }

  private RecordStore(KvStore kv) {
    this.kv = kv;
    this.location = kv.location();
    Set<String> missing = new LinkedHashSet<>(COLUMN_FAMILIES);
    missing.removeAll(kv.columnFamilies());
    if (!missing.isEmpty()) {
      throw new StoreException(location, "not a cai store: lacks column families " + missing);
    }
    if (StoreSchema.check(kv) == StoreSchema.State.BLANK) {
      kv.write(StoreSchema.initialize(new KvBatch()));
    }
    for (RecordKind<?> kind : RecordKind.all()) {
      long next = kv.lastKey(kind.columnFamily())
          .map(key -> Keys.sequence(key, location, kind.columnFamily()) + 1)
          .orElse(0L);
      nextSequences.put(kind, next);
    }
  }

  /** Every column family a record store needs. */
  public static Set<String> columnFamilies() {
    return COLUMN_FAMILIES;
  }

  /** Opens or creates the RocksDB store in {@code directory} with default durability. */
  public static RecordStore open(Path directory) {
    return open(directory, StoreSettings.defaults());
  }

  /**
   * Opens the store in {@code directory}, or creates one there if the directory is missing or empty.
   *
   * @throws StoreException naming the directory when it is corrupt, not a RocksDB database, a RocksDB
   *     database that is not a cai store, or a store of a newer schema version; the directory is then
   *     left exactly as it was
   */
  public static RecordStore open(Path directory, StoreSettings settings) {
    return adopt(RocksKvStore.open(directory, COLUMN_FAMILIES, settings, StoreSchema::check));
  }

  /** A fresh store in memory, for tests. */
  public static RecordStore inMemory() {
    return adopt(new MemoryKvStore(COLUMN_FAMILIES));
  }

  /**
   * A record store over an open {@link KvStore}, which it then owns (and closes, also when refused).
   * A blank store is initialized; a store that is not a cai store or is of a newer schema is refused
   * without writing anything.
   */
  public static RecordStore adopt(KvStore kv) {
    try {
      return new RecordStore(kv);
    } catch (RuntimeException e) {
      kv.close();
      throw e;
    }
  }

  /**
   * Copies the checkpoint in {@code checkpointDir} to {@code targetDir} (missing or empty) and opens
   * the copy, leaving the checkpoint unchanged; for use when no store is open, e.g. to roll a run back.
   */
  public static RecordStore restore(Path checkpointDir, Path targetDir, StoreSettings settings) {
    return adopt(RocksKvStore.restoreCopy(checkpointDir, targetDir, COLUMN_FAMILIES, settings, StoreSchema::check));
  }

  /**
   * Refuses to start a write of about {@code bytes} that the store's file system has no room for, before anything is
   * written: a store that fills its disk mid-commit can stall instead of failing (RocksDB waits for a flush that
   * cannot finish). No check for a store without files.
   *
   * @throws StoreException naming the store, the purpose, what it needs and what is free
   */
  public void requireFreeSpace(long bytes, String purpose) {
    OptionalLong free = kv.usableBytes();
    if (free.isPresent() && free.getAsLong() < bytes) {
      throw new StoreException(location(), String.format(Locale.ROOT, "%s needs about %.1f MiB of disk but only %.1f MiB "
          + "are free on the store's file system; nothing was written, the last commit is intact: free some space and "
          + "resume", purpose, bytes / 1048576.0, free.getAsLong() / 1048576.0));
    }
  }

  /** The store's directory, or "memory". */
  public String location() {
    return location;
  }

  /** Schema version the store was written with. */
  public int schemaVersion() {
    return Integer.parseInt(metadata(StoreSchema.VERSION_KEY).orElseThrow());
  }

  // ---------------------------------------------------------------------------------------- writes

  /**
   * Writes the whole commit in one atomic batch and returns the sequence numbers given to its
   * appended records, in append order. On any failure nothing is written and no sequence is used up.
   *
   * @throws StoreException when the batch cannot be written or an offset would go back
   */
  public synchronized List<Long> commit(Commit commit) {
    if (commit.isEmpty()) {
      return List.of();
    }
    KvBatch batch = new KvBatch();
    Map<RecordKind<?>, Long> next = new HashMap<>(nextSequences);
    List<Long> sequences = new ArrayList<>(commit.appends().size());
    for (Commit.Append<?> append : commit.appends()) {
      long sequence = next.get(append.kind());
      next.put(append.kind(), sequence + 1);
      sequences.add(sequence);
      batch.put(append.kind().columnFamily(), Keys.sequence(sequence), append.encode());
    }
    commit.offsets().forEach((source, offset) -> {
      long committed = resumeOffset(source);
      if (offset < committed) {
        throw new StoreException(location, "offset of source '" + source + "' would go back from "
            + committed + " to " + offset);
      }
      SourceOffset value = SourceOffset.newBuilder().setSource(source).setOffset(offset).build();
      batch.put(STREAM_OFFSETS, Keys.name(source), Codecs.SOURCE_OFFSET.encode(value));
    });
    commit.learnerPuts().forEach((name, value) -> batch.put(LEARNER_STATE, Keys.name(name), value));
    commit.learnerDeletes().forEach(name -> batch.delete(LEARNER_STATE, Keys.name(name)));
    commit.metadata().forEach((key, value) -> batch.put(RUN_METADATA, Keys.name(key), Keys.name(value)));
    long start = System.nanoTime();
    kv.write(batch);
    nextSequences.putAll(next);
    try {
      observer.committed(sequences.size(), batch.bytes(), System.nanoTime() - start);
    } catch (RuntimeException e) {
      // the commit is written: a failing observer (metrics) must not make the caller think otherwise
    }
    return List.copyOf(sequences);
  }

  /** Replaces the observer told about every commit ({@link CommitObserver#NONE} by default). */
  public void observeCommits(CommitObserver observer) {
    this.observer = java.util.Objects.requireNonNull(observer, "observer");
  }

  /** Appends one record in its own commit and returns its sequence number. */
  public <M extends Message> long append(RecordKind<M> kind, M record) {
    return commit(new Commit().append(kind, record)).get(0);
  }

  // ----------------------------------------------------------------------------------------- reads

  /** The sequence number the next record of {@code kind} will get: the number of records so far. */
  public synchronized long nextSequence(RecordKind<?> kind) {
    return nextSequences.get(kind);
  }

  public <M extends Message> Optional<M> get(RecordKind<M> kind, long sequence) {
    return kv.get(kind.columnFamily(), Keys.sequence(sequence)).map(bytes -> decode(kind, sequence, bytes));
  }

  /**
   * Visits the records of {@code kind} from {@code fromSequence} on, in insertion order, as of one
   * consistent state of the store; returns how many were visited.
   */
  public <M extends Message> long forEach(RecordKind<M> kind, long fromSequence, Consumer<Stored<M>> visitor) {
    long[] count = {0};
    kv.scan(kind.columnFamily(), Keys.sequence(fromSequence), (key, value) -> {
      long sequence = Keys.sequence(key, location, kind.columnFamily());
      visitor.accept(new Stored<>(sequence, decode(kind, sequence, value)));
      count[0]++;
      return true;
    });
    return count[0];
  }

  /** Up to {@code limit} records of {@code kind} from {@code fromSequence} on, in insertion order. */
  public <M extends Message> List<Stored<M>> read(RecordKind<M> kind, long fromSequence, int limit) {
    if (limit < 0) {
      throw new IllegalArgumentException("limit must be >= 0: " + limit);
    }
    List<Stored<M>> page = new ArrayList<>(Math.min(limit, 1024));
    if (limit == 0) {
      return page;
    }
    kv.scan(kind.columnFamily(), Keys.sequence(fromSequence), (key, value) -> {
      long sequence = Keys.sequence(key, location, kind.columnFamily());
      page.add(new Stored<>(sequence, decode(kind, sequence, value)));
      return page.size() < limit;
    });
    return page;
  }

  /** The last committed offset of {@code source}, if it ever committed one. */
  public Optional<SourceOffset> offset(String source) {
    return kv.get(STREAM_OFFSETS, Keys.name(source)).map(bytes -> decodeOffset(source, bytes));
  }

  /** Where a stream reading {@code source} resumes: its committed offset, or 0 if it never committed. */
  public long resumeOffset(String source) {
    return offset(source).map(SourceOffset::getOffset).orElse(0L);
  }

  /** The committed offset of every source, by source name. */
  public Map<String, Long> offsets() {
    Map<String, Long> offsets = new TreeMap<>();
    kv.scan(STREAM_OFFSETS, new byte[0], (key, value) -> {
      String source = Keys.name(key);
      offsets.put(source, decodeOffset(source, value).getOffset());
      return true;
    });
    return offsets;
  }

  public Optional<byte[]> learnerState(String name) {
    return kv.get(LEARNER_STATE, Keys.name(name));
  }

  /** The learner's committed header, if it ever committed one. */
  public Optional<LearnerStateHeader> learnerHeader() {
    return learnerState(LEARNER_HEADER).map(bytes -> {
      try {
        return Codecs.LEARNER_STATE_HEADER.decode(bytes);
      } catch (ProtocolException e) {
        throw new StoreException(location, "corrupt learner state '" + LEARNER_HEADER + "': " + e.getMessage(), e);
      }
    });
  }

  /** The names of every learner-state value, in byte order, without reading the values. */
  public List<String> learnerStateNames() {
    List<String> names = new ArrayList<>();
    kv.scanKeys(LEARNER_STATE, new byte[0], key -> names.add(Keys.name(key)));
    return names;
  }

  /** Every learner-state value, by name in byte order of the names. */
  public Map<String, byte[]> learnerState() {
    Map<String, byte[]> values = new LinkedHashMap<>();
    kv.scan(LEARNER_STATE, new byte[0], (key, value) -> {
      values.put(Keys.name(key), value);
      return true;
    });
    return values;
  }

  public Optional<String> metadata(String key) {
    return kv.get(RUN_METADATA, Keys.name(key)).map(Keys::name);
  }

  // ----------------------------------------------------------------------------------- checkpoints

  /**
   * Takes a RocksDB checkpoint of the whole store (hard-linked files where possible) into
   * {@code <dir>.checkpoints/<name>} and records it in the checkpoint index. Commits wait while it runs,
   * so the recorded sequences and offsets are exactly the checkpoint's content. The checkpoint does not
   * contain its own index entry.
   */
  public synchronized CheckpointInfo checkpoint(String name) {
    if (!CHECKPOINT_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("checkpoint name '" + name + "' must match " + CHECKPOINT_NAME);
    }
    if (kv.get(CHECKPOINTS_INDEX, Keys.name(name)).isPresent()) {
      throw new StoreException(location, "checkpoint '" + name + "' already exists");
    }
    Map<String, Long> sequences = new TreeMap<>();
    nextSequences.forEach((kind, next) -> sequences.put(kind.columnFamily(), next));
    Path path = kv.checkpointPath(name).toAbsolutePath().normalize();
    CheckpointInfo info = new CheckpointInfo(name, path, System.currentTimeMillis(), sequences, offsets());
    kv.checkpoint(path);
    kv.write(new KvBatch().put(CHECKPOINTS_INDEX, Keys.name(name), info.toBytes()));
    return info;
  }

  /** Every checkpoint of the index, oldest first. */
  public List<CheckpointInfo> listCheckpoints() {
    List<CheckpointInfo> checkpoints = new ArrayList<>();
    kv.scan(CHECKPOINTS_INDEX, new byte[0], (key, value) -> {
      checkpoints.add(CheckpointInfo.fromBytes(value, location));
      return true;
    });
    checkpoints.sort(Comparator.comparingLong(CheckpointInfo::createdAtMs).thenComparing(CheckpointInfo::name));
    return checkpoints;
  }

  /**
   * Restores checkpoint {@code name} as a new, independent store in {@code targetDir} (missing or
   * empty) and opens it; this store and the checkpoint stay unchanged. The caller closes the result.
   */
  public RecordStore restore(String name, Path targetDir) {
    return adopt(kv.restore(indexed(name).path(), targetDir, StoreSchema::check));
  }

  /**
   * Deletes checkpoint {@code name}: its index entry first, then its directory, so that a crash in between leaves an
   * unlisted directory, never an entry naming a checkpoint that is gone. An entry this store inherited through a
   * restore names another store's checkpoint: only the entry goes, the other store's directory stays.
   *
   * @throws StoreException when the index has no checkpoint {@code name} (the message lists those it has) or the
   *     directory cannot be deleted
   */
  public synchronized void deleteCheckpoint(String name) {
    CheckpointInfo info = indexed(name);
    kv.write(new KvBatch().delete(CHECKPOINTS_INDEX, Keys.name(name)));
    if (info.path().equals(kv.checkpointPath(name).toAbsolutePath().normalize())) {
      kv.deleteCheckpoint(info.path());
    }
  }

  /** The index entry of checkpoint {@code name}. */
  private CheckpointInfo indexed(String name) {
    return kv.get(CHECKPOINTS_INDEX, Keys.name(name))
        .map(bytes -> CheckpointInfo.fromBytes(bytes, location))
        .orElseThrow(() -> new StoreException(location, "no checkpoint named '" + name + "'; have "
            + listCheckpoints().stream().map(CheckpointInfo::name).toList()));
  }

  // ---------------------------------------------------------------------------------------- export

  /**
   * Writes every record of {@code kind} to {@code target} as JSON Lines (one Protobuf JSON object per
   * line, proto field names, proto3 JSON mapping: fields at their default value are omitted, 64-bit
   * integers are strings, NaN is {@code "NaN"}; insertion order). The file is written under a
   * temporary name and renamed, so readers never see a partial export. Returns the number of lines.
   */
  public <M extends Message> long exportJsonl(RecordKind<M> kind, Path target) {
    Path file = target.toAbsolutePath().normalize();
    Path temp = null;
    try {
      Files.createDirectories(file.getParent());
      temp = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".tmp");
      long lines;
      try (BufferedWriter writer = Files.newBufferedWriter(temp, StandardCharsets.UTF_8)) {
        lines = forEach(kind, 0, stored -> writeLine(writer, stored.record()));
      }
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      temp = null;
      return lines;
    } catch (IOException | UncheckedIOException e) {
      throw new StoreException(location, "cannot export " + kind + " to " + file + ": " + e.getMessage(), e);
    } finally {
      if (temp != null) {
        try {
          Files.deleteIfExists(temp);
        } catch (IOException ignored) {
          // The export already failed with a clearer error; a leftover hidden temp file is harmless.
        }
      }
    }
  }

  @Override
  public void close() {
    kv.close();
  }

  // ------------------------------------------------------------------------------------- internals

  private static void writeLine(BufferedWriter writer, Message record) {
    try {
      JSON.appendTo(record, writer);
      writer.write('\n');
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private <M extends Message> M decode(RecordKind<M> kind, long sequence, byte[] bytes) {
    try {
      return kind.codec().decode(bytes);
    } catch (ProtocolException e) {
      throw new StoreException(location, "corrupt record #" + sequence + " in '" + kind.columnFamily() + "': "
          + e.getMessage(), e);
    }
  }

  private SourceOffset decodeOffset(String source, byte[] bytes) {
    try {
      return Codecs.SOURCE_OFFSET.decode(bytes);
    } catch (ProtocolException e) {
      throw new StoreException(location, "corrupt offset of source '" + source + "': " + e.getMessage(), e);
    }
  }

  private static Set<String> columnFamiliesInOrder() {
    Set<String> families = new LinkedHashSet<>();
    RecordKind.all().forEach(kind -> families.add(kind.columnFamily()));
    families.add(LEARNER_STATE);
    families.add(CHECKPOINTS_INDEX);
    families.add(STREAM_OFFSETS);
    families.add(RUN_METADATA);
    return Collections.unmodifiableSet(families);
  }
}
