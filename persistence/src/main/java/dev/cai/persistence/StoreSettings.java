package dev.cai.persistence;

/**
 * Durability settings of a RocksDB-backed store.
 *
 * <p>The write-ahead log is always on. With {@code syncWrites = false} (the default) a committed batch
 * is in the operating system's page cache when {@code commit} returns: it survives a crash or a
 * {@code kill -9} of the JVM, but not a power loss or kernel crash. With {@code syncWrites = true}
 * every commit also fsyncs the WAL before returning, which survives power loss at the cost of one
 * fsync per commit.
 *
 * @param syncWrites fsync the write-ahead log on every commit
 */
public record StoreSettings(boolean syncWrites) {
  /** Process-crash durable, not power-loss durable: the WAL is written but not fsynced per commit. */
  public static StoreSettings defaults() {
    return new StoreSettings(false);
  }
}
