package dev.cai.persistence;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The behaviour every {@link KvStore} implementation shares. */
abstract class KvStoreContractTest {
  static final Set<String> FAMILIES = Set.of("a", "b");

  @TempDir
  Path tempDir;

  private final List<KvStore> opened = new ArrayList<>();

  /** A new empty store with {@link #FAMILIES}. */
  abstract KvStore create();

  /** The same data as {@code closed}, opened again after a clean close. */
  abstract KvStore reopen(KvStore closed);

  KvStore track(KvStore store) {
    opened.add(store);
    return store;
  }

  @AfterEach
  void closeAll() {
    opened.forEach(KvStore::close);
  }

  private static byte[] b(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] bytes(int... values) {
    byte[] out = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = (byte) values[i];
    }
    return out;
  }

  private static List<String> keysOf(KvStore store, String family, byte[] from) {
    List<String> keys = new ArrayList<>();
    store.scan(family, from, (key, value) -> keys.add(HexFormat.of().formatHex(key)) || true);
    return keys;
  }

  @Test
  void shouldIterateKeysInUnsignedByteOrder() {
    KvStore store = track(create());
    store.write(new KvBatch()
        .put("a", bytes(0x80), b("x"))
        .put("a", bytes(0x7F), b("x"))
        .put("a", bytes(0x00, 0x01), b("x"))
        .put("a", bytes(0xFF), b("x"))
        .put("a", bytes(0x00), b("x")));

    assertEquals(List.of("00", "0001", "7f", "80", "ff"), keysOf(store, "a", new byte[0]));
    assertEquals(List.of("80", "ff"), keysOf(store, "a", bytes(0x80)));
    assertArrayEquals(bytes(0xFF), store.lastKey("a").orElseThrow());
  }

  @Test
  void shouldStopScanWhenVisitorReturnsFalse() {
    KvStore store = track(create());
    KvBatch batch = new KvBatch();
    for (int i = 0; i < 10; i++) {
      batch.put("a", Keys.sequence(i), b("v" + i));
    }
    store.write(batch);
    List<String> seen = new ArrayList<>();
    store.scan("a", Keys.sequence(3), (key, value) -> {
      seen.add(new String(value, StandardCharsets.UTF_8));
      return seen.size() < 4;
    });
    assertEquals(List.of("v3", "v4", "v5", "v6"), seen);
  }

  @Test
  void shouldKeepColumnFamiliesApart() {
    KvStore store = track(create());
    store.write(new KvBatch().put("a", b("k"), b("in a")).put("b", b("k"), b("in b")));
    assertEquals("in a", new String(store.get("a", b("k")).orElseThrow(), StandardCharsets.UTF_8));
    assertEquals("in b", new String(store.get("b", b("k")).orElseThrow(), StandardCharsets.UTF_8));
    assertEquals(FAMILIES, store.columnFamilies());
  }

  @Test
  void shouldApplyOpsInBatchOrderSoTheLastOpOnAKeyWins() {
    KvStore store = track(create());
    store.write(new KvBatch().put("a", b("k"), b("1")).put("a", b("gone"), b("x")));
    store.write(new KvBatch().put("a", b("k"), b("2")).delete("a", b("gone")).put("a", b("k"), b("3")));
    assertEquals("3", new String(store.get("a", b("k")).orElseThrow(), StandardCharsets.UTF_8));
    assertTrue(store.get("a", b("gone")).isEmpty());
  }

  @Test
  void shouldWriteNothingWhenAnyOpOfTheBatchFails() {
    KvStore store = track(create());
    KvBatch batch = new KvBatch()
        .put("a", b("first"), b("1"))
        .put("b", b("second"), b("2"))
        .put("no-such-family", b("third"), b("3"));

    StoreException error = assertThrows(StoreException.class, () -> store.write(batch));

    assertTrue(error.getMessage().contains("unknown column family 'no-such-family'"), error.getMessage());
    assertTrue(error.getMessage().contains(store.location()), error.getMessage());
    assertTrue(store.get("a", b("first")).isEmpty());
    assertTrue(store.get("b", b("second")).isEmpty());
    assertTrue(store.lastKey("a").isEmpty());
  }

  @Test
  void shouldKeepDataAcrossCleanReopen() {
    KvStore store = create();
    store.write(new KvBatch().put("a", b("k"), b("v")));
    store.close();
    KvStore again = track(reopen(store));
    assertEquals("v", new String(again.get("a", b("k")).orElseThrow(), StandardCharsets.UTF_8));
  }

  @Test
  void shouldFailClearlyAfterClose() {
    KvStore store = create();
    store.close();
    StoreException error = assertThrows(StoreException.class, () -> store.get("a", b("k")));
    assertTrue(error.getMessage().contains("closed"), error.getMessage());
  }

  @Test
  void shouldRestoreCheckpointAsAnIndependentPointInTimeCopy() {
    KvStore store = track(create());
    store.write(new KvBatch().put("a", b("k"), b("before")));
    Path checkpoint = store.checkpointPath("c1");
    store.checkpoint(checkpoint);
    store.write(new KvBatch().put("a", b("k"), b("after")).put("b", b("new"), b("x")));

    KvStore restored = track(store.restore(checkpoint, tempDir.resolve("restored"), kv -> { }));
    assertEquals("before", new String(restored.get("a", b("k")).orElseThrow(), StandardCharsets.UTF_8));
    assertTrue(restored.get("b", b("new")).isEmpty());

    restored.write(new KvBatch().put("a", b("k"), b("restored")));
    assertEquals("after", new String(store.get("a", b("k")).orElseThrow(), StandardCharsets.UTF_8));

    KvStore again = track(store.restore(checkpoint, tempDir.resolve("restored-again"), kv -> { }));
    assertEquals("before", new String(again.get("a", b("k")).orElseThrow(), StandardCharsets.UTF_8));
  }

  @Test
  void shouldRefuseToOverwriteAnExistingCheckpoint() {
    KvStore store = track(create());
    Path checkpoint = store.checkpointPath("twice");
    store.checkpoint(checkpoint);
    StoreException error = assertThrows(StoreException.class, () -> store.checkpoint(checkpoint));
    assertTrue(error.getMessage().contains("already exists"), error.getMessage());
    assertFalse(error.getMessage().isEmpty());
  }

  @Test
  void shouldDeleteACheckpointSoThatItCanBeTakenAgainAndToleratesAMissingOne() {
    KvStore store = track(create());
    Path checkpoint = store.checkpointPath("c1");
    store.checkpoint(checkpoint);

    store.deleteCheckpoint(checkpoint);
    store.deleteCheckpoint(checkpoint);

    assertThrows(StoreException.class, () -> store.restore(checkpoint, tempDir.resolve("restored"), kv -> { }));
    store.checkpoint(checkpoint);
  }
}
