package dev.cai.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Runs the {@link KvStore} contract against {@link RocksKvStore}, plus its on-disk specifics. */
class RocksKvStoreTest extends KvStoreContractTest {
  private Path dir() {
    return tempDir.resolve("db");
  }

  @Override
  KvStore create() {
    return RocksKvStore.open(dir(), FAMILIES, StoreSettings.defaults(), kv -> { });
  }

  @Override
  KvStore reopen(KvStore closed) {
    return RocksKvStore.open(((RocksKvStore) closed).directory(), FAMILIES, StoreSettings.defaults(), kv -> { });
  }

  @Test
  void shouldWriteCheckpointsBesideTheDatabaseAsRocksDatabases() {
    KvStore store = track(create());
    Path checkpoint = store.checkpointPath("nightly");
    assertEquals(tempDir.resolve("db.checkpoints").resolve("nightly").toAbsolutePath(), checkpoint);
    store.checkpoint(checkpoint);
    assertTrue(Files.isRegularFile(checkpoint.resolve("CURRENT")));
  }

  @Test
  void shouldReportTheFreeSpaceOfItsFileSystem() throws Exception {
    RocksKvStore store = (RocksKvStore) track(create());
    long free = store.usableBytes().orElseThrow();
    long expected = Files.getFileStore(tempDir).getUsableSpace();
    assertTrue(free > 0 && Math.abs(free - expected) < (256L << 20), free + " vs " + expected);
  }

  @Test
  void shouldSyncEveryWriteWhenAsked() {
    try (KvStore store = RocksKvStore.open(dir(), FAMILIES, new StoreSettings(true), kv -> { })) {
      store.write(new KvBatch().put("a", Keys.sequence(1), new byte[] {1}));
      assertTrue(store.get("a", Keys.sequence(1)).isPresent());
    }
  }
}
