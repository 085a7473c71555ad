package dev.cai.persistence;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;

/**
 * A {@link KvStore} held in sorted maps, for unit tests of the modules above persistence. Nothing
 * survives the JVM; {@link #reopen()} models a restart of the same process and checkpoints are kept
 * in memory, keyed by their directory.
 */
public final class MemoryKvStore implements KvStore {
  private static final String LOCATION = "memory";

  /** Everything that outlives one open instance: the data and the checkpoints taken from it. */
  private static final class Contents {
    final Map<String, TreeMap<byte[], byte[]>> families = new HashMap<>();
    final Map<Path, Map<String, TreeMap<byte[], byte[]>>> checkpoints = new HashMap<>();
    final ReadWriteLock lock = new ReentrantReadWriteLock();
  }

  private final Contents contents;
  private final Set<String> columnFamilies;
  private volatile boolean closed;

  /** An empty store with the given column families. */
  public MemoryKvStore(Set<String> columnFamilies) {
    this(new Contents(), new LinkedHashSet<>(columnFamilies));
    for (String family : this.columnFamilies) {
      contents.families.put(family, new TreeMap<>(Keys.UNSIGNED));
    }
  }

  private MemoryKvStore(Contents contents, Set<String> columnFamilies) {
    this.contents = contents;
    this.columnFamilies = Set.copyOf(columnFamilies);
  }

  /** A new open instance over the data of this closed one, as if the process had restarted cleanly. */
  public MemoryKvStore reopen() {
    if (!closed) {
      throw new StoreException(LOCATION, "reopen() needs the store to be closed first");
    }
    return new MemoryKvStore(contents, columnFamilies);
  }

  @Override
  public String location() {
    return LOCATION;
  }

  @Override
  public Set<String> columnFamilies() {
    return columnFamilies;
  }

  @Override
  public Optional<byte[]> get(String columnFamily, byte[] key) {
    contents.lock.readLock().lock();
    try {
      byte[] value = family(columnFamily).get(key);
      return value == null ? Optional.empty() : Optional.of(value.clone());
    } finally {
      contents.lock.readLock().unlock();
    }
  }

  @Override
  public void scan(String columnFamily, byte[] fromInclusive, Visitor visitor) {
    // Copy the tail under the read lock, then visit without holding it: the scan sees one consistent
    // state (like a RocksDB iterator's implicit snapshot) and the visitor may write to this store.
    List<Map.Entry<byte[], byte[]>> entries;
    contents.lock.readLock().lock();
    try {
      entries = new ArrayList<>(family(columnFamily).tailMap(fromInclusive, true).entrySet());
    } finally {
      contents.lock.readLock().unlock();
    }
    for (Map.Entry<byte[], byte[]> entry : entries) {
      if (!visitor.visit(entry.getKey().clone(), entry.getValue().clone())) {
        return;
      }
    }
  }

  @Override
  public Optional<byte[]> lastKey(String columnFamily) {
    contents.lock.readLock().lock();
    try {
      TreeMap<byte[], byte[]> family = family(columnFamily);
      return family.isEmpty() ? Optional.empty() : Optional.of(family.lastKey().clone());
    } finally {
      contents.lock.readLock().unlock();
    }
  }

  @Override
  public void write(KvBatch batch) {
    List<KvBatch.Op> ops = batch.ops();
    contents.lock.writeLock().lock();
    try {
      // Resolve every column family before changing anything, so a bad op leaves the store untouched.
      List<TreeMap<byte[], byte[]>> targets = new ArrayList<>(ops.size());
      for (KvBatch.Op op : ops) {
        targets.add(family(op.columnFamily()));
      }
      for (int i = 0; i < ops.size(); i++) {
        KvBatch.Op op = ops.get(i);
        if (op.isDelete()) {
          targets.get(i).remove(op.key());
        } else {
          targets.get(i).put(op.key().clone(), op.value().clone());
        }
      }
    } finally {
      contents.lock.writeLock().unlock();
    }
  }

  @Override
  public Path checkpointPath(String name) {
    return Path.of(LOCATION, "checkpoints", name);
  }

  @Override
  public void checkpoint(Path targetDir) {
    Path key = targetDir.toAbsolutePath().normalize();
    contents.lock.readLock().lock();
    try {
      ensureOpen();
      synchronized (contents.checkpoints) {
        if (contents.checkpoints.containsKey(key)) {
          throw new StoreException(LOCATION, "checkpoint directory " + key + " already exists");
        }
        contents.checkpoints.put(key, copy(contents.families));
      }
    } finally {
      contents.lock.readLock().unlock();
    }
  }

  @Override
  public void deleteCheckpoint(Path checkpointDir) {
    synchronized (contents.checkpoints) {
      contents.checkpoints.remove(checkpointDir.toAbsolutePath().normalize());
    }
  }

  /** Opens an in-memory copy of the checkpoint; nothing is written to {@code targetDir}. */
  @Override
  public KvStore restore(Path checkpointDir, Path targetDir, Consumer<KvStore> validator) {
    Map<String, TreeMap<byte[], byte[]>> snapshot;
    synchronized (contents.checkpoints) {
      snapshot = contents.checkpoints.get(checkpointDir.toAbsolutePath().normalize());
    }
    if (snapshot == null) {
      throw new StoreException(LOCATION, "no checkpoint at " + checkpointDir);
    }
    MemoryKvStore restored = new MemoryKvStore(new Contents(), columnFamilies);
    restored.contents.families.putAll(copy(snapshot));
    validator.accept(restored);
    return restored;
  }

  @Override
  public void close() {
    closed = true;
  }

  private TreeMap<byte[], byte[]> family(String columnFamily) {
    ensureOpen();
    TreeMap<byte[], byte[]> family = contents.families.get(columnFamily);
    if (family == null || !columnFamilies.contains(columnFamily)) {
      throw new StoreException(LOCATION, "unknown column family '" + columnFamily + "'");
    }
    return family;
  }

  private void ensureOpen() {
    if (closed) {
      throw new StoreException(LOCATION, "store is closed");
    }
  }

  private static Map<String, TreeMap<byte[], byte[]>> copy(Map<String, TreeMap<byte[], byte[]>> families) {
    Map<String, TreeMap<byte[], byte[]>> copy = new HashMap<>();
    families.forEach((name, family) -> copy.put(name, new TreeMap<>(family)));
    return copy;
  }
}
