package dev.cai.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.protocol.v1.Prompt;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.DBOptions;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;

/** Runs the {@link RecordStore} contract over RocksDB, plus what only a directory on disk can get wrong. */
class RocksRecordStoreTest extends RecordStoreContractTest {
  private Path dir() {
    return tempDir.resolve("run").resolve("db");
  }

  @Override
  RecordStore open() {
    return RecordStore.open(dir());
  }

  @Override
  KvStore openRaw() {
    return RocksKvStore.open(dir(), RecordStore.columnFamilies(), StoreSettings.defaults(), kv -> { });
  }

  @Override
  Object fingerprint() {
    return DirectorySnapshot.of(dir());
  }

  private StoreException assertRefusedUnchanged(Path directory) {
    Map<String, String> before = DirectorySnapshot.of(directory);
    StoreException error = assertThrows(StoreException.class, () -> RecordStore.open(directory));
    assertEquals(before, DirectorySnapshot.of(directory), "the refused directory must be byte-for-byte unchanged");
    assertTrue(error.getMessage().startsWith("Store " + directory.toAbsolutePath() + ": "), error.getMessage());
    return error;
  }

  @Test
  void shouldCreateANewStoreInAMissingOrEmptyDirectory() throws IOException {
    try (RecordStore store = RecordStore.open(tempDir.resolve("missing"))) {
      assertEquals(0, store.nextSequence(RecordKind.PROMPTS));
    }
    Files.createDirectories(tempDir.resolve("empty"));
    try (RecordStore store = RecordStore.open(tempDir.resolve("empty"))) {
      store.append(RecordKind.PROMPTS, prompt(1));
    }
    assertTrue(Files.isRegularFile(tempDir.resolve("empty").resolve("CURRENT")));
  }

  @Test
  void shouldRefuseADirectoryOfGarbageFilesAndLeaveItUnchanged() throws IOException {
    Path garbage = tempDir.resolve("garbage");
    Files.createDirectories(garbage.resolve("sub"));
    Files.write(garbage.resolve("notes.txt"), "not a database".getBytes(StandardCharsets.UTF_8));
    Files.write(garbage.resolve("sub").resolve("000001.sst"), new byte[] {1, 2, 3});

    StoreException error = assertRefusedUnchanged(garbage);

    assertTrue(error.getMessage().contains("not a RocksDB database: no CURRENT file (directory holds [notes.txt, sub])"),
        error.getMessage());
  }

  @Test
  void shouldRefuseACorruptDatabaseAndLeaveItUnchanged() throws IOException {
    try (RecordStore store = RecordStore.open(dir())) {
      store.append(RecordKind.PROMPTS, prompt(0));
    }
    Files.write(dir().resolve("CURRENT"), "MANIFEST-999999\n".getBytes(StandardCharsets.UTF_8));

    StoreException error = assertRefusedUnchanged(dir());

    assertTrue(error.getMessage().contains("corrupt or unreadable RocksDB database"), error.getMessage());
    assertTrue(error.getMessage().contains("MANIFEST-999999"), error.getMessage());
  }

  @Test
  void shouldRefuseAForeignRocksDatabaseAndLeaveItUnchanged() throws RocksDBException {
    Path foreign = tempDir.resolve("foreign");
    try (Options options = new Options().setCreateIfMissing(true);
        RocksDB db = RocksDB.open(options, foreign.toString())) {
      db.put("hello".getBytes(StandardCharsets.UTF_8), "world".getBytes(StandardCharsets.UTF_8));
    }

    StoreException error = assertRefusedUnchanged(foreign);

    assertTrue(error.getMessage().contains("not a cai store: RocksDB database lacks column families [checkpoints_index,"),
        error.getMessage());
    assertTrue(error.getMessage().contains("(it has [default])"), error.getMessage());
  }

  @Test
  void shouldRefuseAPathThatIsARegularFile() throws IOException {
    Path file = Files.write(tempDir.resolve("file.db"), new byte[] {42});
    StoreException error = assertThrows(StoreException.class, () -> RecordStore.open(file));
    assertEquals("Store " + file.toAbsolutePath() + ": is not a directory", error.getMessage());
    assertEquals(42, Files.readAllBytes(file)[0]);
  }

  @Test
  void shouldRefuseANewerSchemaThatIsOnlyInTheWriteAheadLog() throws Exception {
    try (RecordStore store = RecordStore.open(dir())) {
      store.append(RecordKind.PROMPTS, prompt(0));
    }
    // Write the newer version with a plain RocksDB that does not flush on close, as after a crash:
    // the read-only probe must replay the WAL to see it, and must not flush or rewrite anything.
    List<String> sstBefore = filesEndingWith(dir(), ".sst");
    List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
    descriptors.add(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY));
    RecordStore.columnFamilies().forEach(name -> descriptors.add(new ColumnFamilyDescriptor(Keys.name(name))));
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    try (DBOptions options = new DBOptions().setAvoidFlushDuringRecovery(true).setAvoidFlushDuringShutdown(true);
        RocksDB db = RocksDB.open(options, dir().toString(), descriptors, handles)) {
      ColumnFamilyHandle metadata = handles.get(1 + List.copyOf(RecordStore.columnFamilies()).indexOf(RecordStore.RUN_METADATA));
      db.put(metadata, Keys.name("cai.schema_version"), Keys.name("7"));
      handles.forEach(ColumnFamilyHandle::close);  // handles before the database
    }
    assertEquals(sstBefore, filesEndingWith(dir(), ".sst"), "the new version must not be flushed to an SST");

    StoreException error = assertRefusedUnchanged(dir());

    assertTrue(error.getMessage().contains("written by schema version 7"), error.getMessage());
  }

  private static List<String> filesEndingWith(Path dir, String suffix) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(suffix)).sorted().toList();
    }
  }

  @Test
  void shouldPutCheckpointsBesideTheStoreAndRestoreFromTheDirectoryAlone() {
    Path restoredDir = tempDir.resolve("rolled-back");
    Path checkpointDir;
    try (RecordStore store = RecordStore.open(dir())) {
      store.commit(new Commit().append(RecordKind.PROMPTS, prompt(0)).offset("src", 1));
      checkpointDir = store.checkpoint("c0").path();
      store.commit(new Commit().append(RecordKind.PROMPTS, prompt(1)).offset("src", 2));
    }
    assertEquals(tempDir.resolve("run").resolve("db.checkpoints").resolve("c0").toAbsolutePath(), checkpointDir);
    Map<String, String> checkpointBefore = DirectorySnapshot.of(checkpointDir);

    try (RecordStore restored = RecordStore.restore(checkpointDir, restoredDir, StoreSettings.defaults())) {
      assertEquals(1, restored.resumeOffset("src"));
      assertEquals(1, restored.nextSequence(RecordKind.PROMPTS));
      restored.append(RecordKind.PROMPTS, Prompt.getDefaultInstance());
    }
    assertEquals(checkpointBefore, DirectorySnapshot.of(checkpointDir), "restoring must not change the checkpoint");
    assertFalse(Files.exists(tempDir.resolve("rolled-back.restoring")));

    StoreException occupied = assertThrows(StoreException.class,
        () -> RecordStore.restore(checkpointDir, restoredDir, StoreSettings.defaults()));
    assertEquals("Store " + restoredDir.toAbsolutePath() + ": restore target is not empty", occupied.getMessage());
  }

  @Test
  void shouldRefuseASecondOpenOfTheSameDirectoryWhileTheFirstIsOpen() {
    try (RecordStore first = RecordStore.open(dir())) {
      first.append(RecordKind.PROMPTS, prompt(0));
      StoreException error = assertThrows(StoreException.class, () -> RecordStore.open(dir()));
      assertTrue(error.getMessage().startsWith("Store " + dir().toAbsolutePath() + ": cannot open RocksDB database"),
          error.getMessage());
      assertTrue(error.getMessage().toLowerCase(java.util.Locale.ROOT).contains("lock"), error.getMessage());
      assertEquals(1, first.nextSequence(RecordKind.PROMPTS));
    }
  }
}
