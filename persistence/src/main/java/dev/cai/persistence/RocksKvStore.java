package dev.cai.persistence;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.rocksdb.Checkpoint;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * A {@link KvStore} in one RocksDB database directory, one RocksDB column family per column family.
 *
 * <p>Opening an existing directory never changes it unless it is a valid store: the directory is
 * first checked for a RocksDB {@code CURRENT} file, its column families are listed without opening it,
 * and a caller-supplied validator inspects a read-only instance; only then is it opened for writing.
 * A missing or empty directory becomes a new database with every column family.
 */
public final class RocksKvStore implements KvStore {
  static {
    RocksDB.loadLibrary();
  }

  private static final String DEFAULT_FAMILY = new String(RocksDB.DEFAULT_COLUMN_FAMILY, StandardCharsets.UTF_8);

  /** RocksDB writes a new info LOG file on every open; older ones beyond this count are deleted. */
  private static final long KEPT_INFO_LOGS = 5;

  private final Path directory;
  private final String location;
  private final StoreSettings settings;
  private final boolean readOnly;
  // Native handles owned by this store; close() releases them in reverse order of creation.
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions familyOptions;
  private final RocksDB db;
  private final List<ColumnFamilyHandle> handles;
  private final Map<String, ColumnFamilyHandle> families;
  private final WriteOptions writeOptions;
  private final ReadOptions readOptions;
  // Every operation holds the read lock; close() takes the write lock, so no native call can run on
  // a handle that close() is freeing (which would crash the JVM instead of throwing).
  private final ReadWriteLock lifecycle = new ReentrantReadWriteLock();
  private boolean closed;

  private RocksKvStore(Path directory, StoreSettings settings, boolean readOnly, DBOptions dbOptions,
      ColumnFamilyOptions familyOptions, RocksDB db, List<ColumnFamilyHandle> handles,
      Set<String> requested) {
    this.directory = directory;
    this.location = directory.toString();
    this.settings = settings;
    this.readOnly = readOnly;
    this.dbOptions = dbOptions;
    this.familyOptions = familyOptions;
    this.db = db;
    this.handles = handles;
    Map<String, ColumnFamilyHandle> byName = new HashMap<>();
    for (ColumnFamilyHandle handle : handles) {
      String name = familyName(handle, location);
      if (requested.contains(name)) {
        byName.put(name, handle);
      }
    }
    this.families = Map.copyOf(byName);
    this.writeOptions = new WriteOptions().setSync(settings.syncWrites());
    this.readOptions = new ReadOptions();
  }

  /**
   * Opens (or creates) the database in {@code directory} with the given column families.
   *
   * @param validator runs on a read-only instance of an existing database before it is opened for
   *     writing; it throws to refuse the database, which then stays byte-for-byte unchanged
   * @throws StoreException naming the directory when it is not a directory, not a RocksDB database,
   *     corrupt, lacks a column family, or is refused by the validator
   */
  public static RocksKvStore open(Path directory, Set<String> columnFamilies, StoreSettings settings,
      Consumer<KvStore> validator) {
    Path dir = directory.toAbsolutePath().normalize();
    Set<String> requested = new LinkedHashSet<>(columnFamilies);
    if (requested.contains(DEFAULT_FAMILY)) {
      throw new IllegalArgumentException("the RocksDB default column family is implicit: " + requested);
    }
    if (isAbsentOrEmpty(dir)) {
      return create(dir, requested, settings);
    }
    List<String> existing = inspectExisting(dir, requested);
    try (RocksKvStore probe = openExisting(dir, existing, requested, settings, true)) {
      validator.accept(probe);
    }
    return openExisting(dir, existing, requested, settings, false);
  }

  /** Whether {@code dir} holds anything at all; used to refuse non-empty restore targets. */
  static boolean isAbsentOrEmpty(Path dir) {
    if (!Files.exists(dir)) {
      return true;
    }
    if (!Files.isDirectory(dir)) {
      throw new StoreException(dir.toString(), "is not a directory");
    }
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.findAny().isEmpty();
    } catch (IOException e) {
      throw new StoreException(dir.toString(), "cannot list directory: " + e.getMessage(), e);
    }
  }

  /** Checks an existing directory without writing to it; returns the names of its column families. */
  private static List<String> inspectExisting(Path dir, Set<String> requested) {
    String where = dir.toString();
    if (!Files.isRegularFile(dir.resolve("CURRENT"))) {
      throw new StoreException(where, "not a RocksDB database: no CURRENT file (directory holds "
          + listing(dir) + ")");
    }
    List<byte[]> raw;
    try (Options options = new Options().setCreateIfMissing(false)) {
      raw = RocksDB.listColumnFamilies(options, where);
    } catch (RocksDBException e) {
      throw new StoreException(where, "corrupt or unreadable RocksDB database: " + e.getMessage(), e);
    }
    if (raw.isEmpty()) {
      // RocksDB reports no column family at all (not even "default") when the manifest is unreadable.
      throw new StoreException(where, "corrupt or unreadable RocksDB database: no column family can be read"
          + " (CURRENT names '" + currentManifest(dir) + "')");
    }
    List<String> existing = raw.stream().map(b -> new String(b, StandardCharsets.UTF_8)).toList();
    Set<String> missing = new TreeSet<>(requested);
    existing.forEach(missing::remove);
    if (!missing.isEmpty()) {
      throw new StoreException(where, "not a cai store: RocksDB database lacks column families " + missing
          + " (it has " + new TreeSet<>(existing) + ")");
    }
    return existing;
  }

  private static RocksKvStore create(Path dir, Set<String> requested, StoreSettings settings) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new StoreException(dir.toString(), "cannot create directory: " + e.getMessage(), e);
    }
    List<String> names = new ArrayList<>();
    names.add(DEFAULT_FAMILY);
    names.addAll(requested);
    return openNative(dir, names, requested, settings, false, true);
  }

  private static RocksKvStore openExisting(Path dir, List<String> existing, Set<String> requested,
      StoreSettings settings, boolean readOnly) {
    // RocksDB must open every column family a database has, including ones this build does not use.
    return openNative(dir, existing, requested, settings, readOnly, false);
  }

  private static RocksKvStore openNative(Path dir, List<String> names, Set<String> requested,
      StoreSettings settings, boolean readOnly, boolean create) {
    DBOptions dbOptions = new DBOptions()
        .setCreateIfMissing(create)
        .setCreateMissingColumnFamilies(create)
        .setParanoidChecks(true)
        .setKeepLogFileNum(KEPT_INFO_LOGS);
    ColumnFamilyOptions familyOptions = new ColumnFamilyOptions();
    List<ColumnFamilyDescriptor> descriptors = names.stream()
        .map(name -> new ColumnFamilyDescriptor(name.getBytes(StandardCharsets.UTF_8), familyOptions))
        .toList();
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    try {
      RocksDB db = readOnly
          ? RocksDB.openReadOnly(dbOptions, dir.toString(), descriptors, handles)
          : RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
      return new RocksKvStore(dir, settings, readOnly, dbOptions, familyOptions, db, handles, requested);
    } catch (RocksDBException e) {
      handles.forEach(ColumnFamilyHandle::close);
      familyOptions.close();
      dbOptions.close();
      throw new StoreException(dir.toString(), "cannot open RocksDB database"
          + (readOnly ? " read-only" : "") + ": " + e.getMessage(), e);
    }
  }

  /** The database directory. */
  public Path directory() {
    return directory;
  }

  @Override
  public String location() {
    return location;
  }

  @Override
  public OptionalLong usableBytes() {
    try {
      return OptionalLong.of(Files.getFileStore(directory).getUsableSpace());
    } catch (IOException e) {
      throw new StoreException(location, "cannot read the free space of its file system: " + e.getMessage(), e);
    }
  }

  @Override
  public Set<String> columnFamilies() {
    return families.keySet();
  }

  @Override
  public Optional<byte[]> get(String columnFamily, byte[] key) {
    Lock lock = acquire();
    try {
      return Optional.ofNullable(db.get(handle(columnFamily), readOptions, key));
    } catch (RocksDBException e) {
      throw failure("read from '" + columnFamily + "'", e);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void scan(String columnFamily, byte[] fromInclusive, Visitor visitor) {
    // The iterator pins an implicit snapshot: the scan sees one consistent state of the database.
    Lock lock = acquire();
    try (RocksIterator iterator = db.newIterator(handle(columnFamily), readOptions)) {
      for (iterator.seek(fromInclusive); iterator.isValid(); iterator.next()) {
        if (!visitor.visit(iterator.key(), iterator.value())) {
          return;
        }
      }
      iterator.status();
    } catch (RocksDBException e) {
      throw failure("scan '" + columnFamily + "'", e);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void scanKeys(String columnFamily, byte[] fromInclusive, java.util.function.Predicate<byte[]> visitor) {
    Lock lock = acquire();
    try (RocksIterator iterator = db.newIterator(handle(columnFamily), readOptions)) {
      for (iterator.seek(fromInclusive); iterator.isValid(); iterator.next()) {
        if (!visitor.test(iterator.key())) { // the value is never copied out of RocksDB
          return;
        }
      }
      iterator.status();
    } catch (RocksDBException e) {
      throw failure("scan the keys of '" + columnFamily + "'", e);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public Optional<byte[]> lastKey(String columnFamily) {
    Lock lock = acquire();
    try (RocksIterator iterator = db.newIterator(handle(columnFamily), readOptions)) {
      iterator.seekToLast();
      if (iterator.isValid()) {
        return Optional.of(iterator.key());
      }
      iterator.status();
      return Optional.empty();
    } catch (RocksDBException e) {
      throw failure("seek to the last key of '" + columnFamily + "'", e);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void write(KvBatch batch) {
    if (readOnly) {
      throw new StoreException(location, "is open read-only");
    }
    // Build the whole native batch first; an unknown column family throws before anything is written.
    Lock lock = acquire();
    try (WriteBatch nativeBatch = new WriteBatch()) {
      for (KvBatch.Op op : batch.ops()) {
        ColumnFamilyHandle handle = handle(op.columnFamily());
        if (op.isDelete()) {
          nativeBatch.delete(handle, op.key());
        } else {
          nativeBatch.put(handle, op.key(), op.value());
        }
      }
      db.write(writeOptions, nativeBatch);
    } catch (RocksDBException e) {
      throw failure("write a batch of " + batch.size() + " ops", e);
    } finally {
      lock.unlock();
    }
  }

  /** Checkpoints live beside the database: {@code <dir>.checkpoints/<name>}. */
  @Override
  public Path checkpointPath(String name) {
    return directory.resolveSibling(directory.getFileName() + ".checkpoints").resolve(name);
  }

  @Override
  public void checkpoint(Path targetDir) {
    Path target = targetDir.toAbsolutePath().normalize();
    if (Files.exists(target)) {
      throw new StoreException(location, "checkpoint directory " + target + " already exists");
    }
    try {
      Files.createDirectories(target.getParent());
    } catch (IOException e) {
      throw new StoreException(location, "cannot create " + target.getParent() + ": " + e.getMessage(), e);
    }
    Lock lock = acquire();
    try (Checkpoint checkpoint = Checkpoint.create(db)) {
      checkpoint.createCheckpoint(target.toString());
    } catch (RocksDBException e) {
      throw failure("create checkpoint " + target, e);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void deleteCheckpoint(Path checkpointDir) {
    Path target = checkpointDir.toAbsolutePath().normalize();
    try {
      deleteRecursively(target);
    } catch (IOException | UncheckedIOException e) {
      throw new StoreException(location, "cannot delete checkpoint " + target + ": " + e.getMessage(), e);
    }
  }

  @Override
  public KvStore restore(Path checkpointDir, Path targetDir, Consumer<KvStore> validator) {
    return restoreCopy(checkpointDir, targetDir, families.keySet(), settings, validator);
  }

  /**
   * Copies the checkpoint (or any store directory) {@code checkpointDir} to {@code targetDir}, which
   * must be missing or empty, and opens the copy; the source stays unchanged.
   */
  public static RocksKvStore restoreCopy(Path checkpointDir, Path targetDir, Set<String> columnFamilies,
      StoreSettings settings, Consumer<KvStore> validator) {
    Path source = checkpointDir.toAbsolutePath().normalize();
    Path target = targetDir.toAbsolutePath().normalize();
    if (!Files.isDirectory(source)) {
      throw new StoreException(source.toString(), "checkpoint directory does not exist");
    }
    if (!isAbsentOrEmpty(target)) {
      throw new StoreException(target.toString(), "restore target is not empty");
    }
    // Copy into a sibling temporary directory, then rename: a crash never leaves a half-copied store.
    Path staging = target.resolveSibling(target.getFileName() + ".restoring");
    try {
      deleteRecursively(staging);
      copyRecursively(source, staging);
      Files.deleteIfExists(target);
      Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | UncheckedIOException e) {
      throw new StoreException(target.toString(), "cannot copy checkpoint " + source + ": " + e.getMessage(), e);
    }
    return open(target, columnFamilies, settings, validator);
  }

  /**
   * Closes the database. A clean close fsyncs the WAL first, so even unsynced commits survive a power
   * loss after a clean shutdown.
   */
  @Override
  public void close() {
    lifecycle.writeLock().lock();
    try {
      closeNative();
    } finally {
      lifecycle.writeLock().unlock();
    }
  }

  private void closeNative() {
    if (closed) {
      return;
    }
    closed = true;
    RocksDBException failure = null;
    try {
      if (!readOnly) {
        db.syncWal();
      }
    } catch (RocksDBException e) {
      failure = e;
    }
    // Order matters: column family handles before the database, the database before the options
    // it was opened with (RocksDB's Java docs require handles to be closed before the DB).
    readOptions.close();
    writeOptions.close();
    handles.forEach(ColumnFamilyHandle::close);
    try {
      db.closeE();
    } catch (RocksDBException e) {
      failure = failure == null ? e : failure;
    }
    familyOptions.close();
    dbOptions.close();
    if (failure != null) {
      throw failure("close", failure);
    }
  }

  /** Takes the read lock of the lifecycle and fails if the store is already closed. */
  private Lock acquire() {
    Lock lock = lifecycle.readLock();
    lock.lock();
    if (closed) {
      lock.unlock();
      throw new StoreException(location, "store is closed");
    }
    return lock;
  }

  private ColumnFamilyHandle handle(String columnFamily) {
    ColumnFamilyHandle handle = families.get(columnFamily);
    if (handle == null) {
      throw new StoreException(location, "unknown column family '" + columnFamily + "'");
    }
    return handle;
  }

  private StoreException failure(String what, RocksDBException e) {
    return new StoreException(location, "cannot " + what + ": " + e.getMessage(), e);
  }

  private static String familyName(ColumnFamilyHandle handle, String where) {
    try {
      return new String(handle.getName(), StandardCharsets.UTF_8);
    } catch (RocksDBException e) {
      throw new StoreException(where, "cannot read a column family name: " + e.getMessage(), e);
    }
  }

  private static String currentManifest(Path dir) {
    try {
      String text = Files.readString(dir.resolve("CURRENT"), StandardCharsets.UTF_8).strip();
      return text.length() <= 80 ? text : text.substring(0, 80) + "...";
    } catch (IOException e) {
      return "unreadable: " + e.getMessage();
    }
  }

  private static String listing(Path dir) {
    try (Stream<Path> entries = Files.list(dir)) {
      List<String> names = entries.map(p -> p.getFileName().toString()).sorted().toList();
      return names.size() <= 8 ? names.toString() : names.subList(0, 8) + " and " + (names.size() - 8) + " more";
    } catch (IOException e) {
      return "unlistable entries";
    }
  }

  private static void copyRecursively(Path source, Path target) throws IOException {
    try (Stream<Path> paths = Files.walk(source)) {
      for (Path path : (Iterable<Path>) paths::iterator) {
        Path to = target.resolve(source.relativize(path).toString());
        if (Files.isDirectory(path)) {
          Files.createDirectories(to);
        } else {
          Files.copy(path, to, StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    } catch (FileAlreadyExistsException e) {
      throw new IOException("unexpected existing file " + e.getFile(), e);
    }
  }

  static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    }
  }

  @Override
  public String toString() {
    return "RocksKvStore[" + location + ", families=" + Arrays.toString(families.keySet().toArray()) + "]";
  }
}
