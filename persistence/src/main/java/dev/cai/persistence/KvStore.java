package dev.cai.persistence;

import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The bytes layer: column families of byte keys and values, iterated in unsigned byte order of the
 * keys, written only through atomic batches. Implementations: {@link RocksKvStore} (durable) and
 * {@link MemoryKvStore} (tests). Every method throws {@link StoreException} naming the store on failure.
 */
public interface KvStore extends AutoCloseable {

  /** Receives entries of a scan; returns false to stop. */
  @FunctionalInterface
  interface Visitor {
    boolean visit(byte[] key, byte[] value);
  }

  /** Where the store lives (a directory, or "memory"), used in every error message. */
  String location();

  /** Bytes free for this store's files on their file system, if it has files (an in-memory store has none). */
  default OptionalLong usableBytes() {
    return OptionalLong.empty();
  }

  /** The column families this store was opened with (the implicit RocksDB "default" excluded). */
  Set<String> columnFamilies();

  Optional<byte[]> get(String columnFamily, byte[] key);

  /** Visits the entries with key >= {@code fromInclusive} in ascending unsigned byte order. */
  void scan(String columnFamily, byte[] fromInclusive, Visitor visitor);

  /**
   * Visits the keys (only) with key >= {@code fromInclusive} in ascending unsigned byte order; {@code visitor}
   * returns false to stop. Cheaper than {@link #scan} when values are large.
   */
  default void scanKeys(String columnFamily, byte[] fromInclusive, java.util.function.Predicate<byte[]> visitor) {
    scan(columnFamily, fromInclusive, (key, value) -> visitor.test(key));
  }

  /** The greatest key of the column family, if it is not empty. */
  Optional<byte[]> lastKey(String columnFamily);

  /**
   * Applies every op of the batch atomically: after a crash or an exception either all of them are
   * visible or none is. An op on an unknown column family fails the whole batch.
   */
  void write(KvBatch batch);

  /** The directory that a checkpoint called {@code name} of this store is written to. */
  Path checkpointPath(String name);

  /**
   * Writes a consistent point-in-time copy of the whole store to {@code targetDir}, which must not
   * exist yet; {@link #restore} opens such a copy.
   */
  void checkpoint(Path targetDir);

  /** Deletes the checkpoint at {@code checkpointDir} (written by {@link #checkpoint}); a missing one is fine. */
  void deleteCheckpoint(Path checkpointDir);

  /**
   * Copies the checkpoint at {@code checkpointDir} to {@code targetDir} (absent or empty) and opens the
   * copy as a new store of the same kind and settings; the checkpoint itself stays unchanged so that it
   * can be restored again. {@code validator} inspects the copy before it is opened for writing.
   */
  KvStore restore(Path checkpointDir, Path targetDir, Consumer<KvStore> validator);

  @Override
  void close();
}
