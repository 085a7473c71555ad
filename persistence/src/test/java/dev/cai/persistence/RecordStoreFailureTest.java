package dev.cai.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.protocol.v1.Prompt;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How a {@link RecordStore} behaves when its bytes layer or the file system fails. */
class RecordStoreFailureTest {
  @TempDir
  Path tempDir;

  /** Delegates to a memory store and fails every write while {@code failWrites} is set. */
  private static final class FlakyKvStore implements KvStore {
    final MemoryKvStore delegate = new MemoryKvStore(RecordStore.columnFamilies());
    boolean failWrites;
    final StoreException failure = new StoreException("flaky", "disk full");
    OptionalLong usable = OptionalLong.empty();

    @Override
    public OptionalLong usableBytes() {
      return usable;
    }

    @Override
    public String location() {
      return "flaky";
    }

    @Override
    public Set<String> columnFamilies() {
      return delegate.columnFamilies();
    }

    @Override
    public Optional<byte[]> get(String columnFamily, byte[] key) {
      return delegate.get(columnFamily, key);
    }

    @Override
    public void scan(String columnFamily, byte[] fromInclusive, Visitor visitor) {
      delegate.scan(columnFamily, fromInclusive, visitor);
    }

    @Override
    public Optional<byte[]> lastKey(String columnFamily) {
      return delegate.lastKey(columnFamily);
    }

    @Override
    public void write(KvBatch batch) {
      if (failWrites) {
        throw failure;
      }
      delegate.write(batch);
    }

    @Override
    public Path checkpointPath(String name) {
      return delegate.checkpointPath(name);
    }

    @Override
    public void checkpoint(Path targetDir) {
      delegate.checkpoint(targetDir);
    }

    @Override
    public void deleteCheckpoint(Path checkpointDir) {
      delegate.deleteCheckpoint(checkpointDir);
    }

    @Override
    public KvStore restore(Path checkpointDir, Path targetDir, Consumer<KvStore> validator) {
      return delegate.restore(checkpointDir, targetDir, validator);
    }

    @Override
    public void close() {
      delegate.close();
    }
  }

  private static Prompt prompt(String id) {
    return Prompt.newBuilder().setId(id).build();
  }

  @Test
  void shouldUseNoSequenceNumberWhenTheBatchWriteFails() {
    FlakyKvStore kv = new FlakyKvStore();
    try (RecordStore store = RecordStore.adopt(kv)) {
      store.commit(new Commit().append(RecordKind.PROMPTS, prompt("a")).offset("src", 1));
      kv.failWrites = true;

      StoreException error = assertThrows(StoreException.class,
          () -> store.commit(new Commit().append(RecordKind.PROMPTS, prompt("b")).offset("src", 2)));

      assertSame(kv.failure, error);
      assertEquals(1, store.nextSequence(RecordKind.PROMPTS));
      assertEquals(1, store.resumeOffset("src"));
      kv.failWrites = false;
      assertEquals(List.of(1L), store.commit(new Commit().append(RecordKind.PROMPTS, prompt("b")).offset("src", 2)));
      assertEquals(List.of("a", "b"),
          store.read(RecordKind.PROMPTS, 0, 10).stream().map(s -> s.record().getId()).toList());
    }
  }

  @Test
  void shouldRefuseAWriteItsFileSystemHasNoRoomForBeforeWritingAnything() {
    FlakyKvStore kv = new FlakyKvStore();
    try (RecordStore store = RecordStore.adopt(kv)) {
      store.requireFreeSpace(Long.MAX_VALUE, "anything"); // a store without files is never refused
      kv.usable = OptionalLong.of(3L << 30);
      store.requireFreeSpace(3L << 30, "a commit that just fits");

      StoreException e = assertThrows(StoreException.class,
          () -> store.requireFreeSpace((3L << 30) + 1, "the learner commit of policy version 10"));
      assertEquals("Store flaky: the learner commit of policy version 10 needs about 3072.0 MiB of disk but only 3072.0 MiB"
          + " are free on the store's file system; nothing was written, the last commit is intact: free some space and"
          + " resume", e.getMessage());
    }
  }

  @Test
  void shouldGiveConcurrentCommitsDistinctContiguousSequences() throws InterruptedException {
    try (RecordStore store = RecordStore.inMemory()) {
      int threads = 4;
      int commitsPerThread = 250;
      Thread[] workers = new Thread[threads];
      for (int t = 0; t < threads; t++) {
        String source = "source-" + t;
        workers[t] = new Thread(() -> {
          for (int i = 0; i < commitsPerThread; i++) {
            store.commit(new Commit()
                .append(RecordKind.PROMPTS, prompt(source + "/" + i + "/0"))
                .append(RecordKind.PROMPTS, prompt(source + "/" + i + "/1"))
                .offset(source, i + 1));
          }
        });
        workers[t].start();
      }
      for (Thread worker : workers) {
        worker.join();
      }
      List<Stored<Prompt>> all = store.read(RecordKind.PROMPTS, 0, 10_000);
      assertEquals(threads * commitsPerThread * 2, all.size());
      for (int i = 0; i < all.size(); i++) {
        assertEquals(i, all.get(i).sequence());
      }
      for (int i = 0; i < all.size(); i += 2) {
        // The two records of one commit are adjacent: commits never interleave.
        String first = all.get(i).record().getId();
        assertEquals(first.substring(0, first.length() - 1) + "1", all.get(i + 1).record().getId());
      }
      for (int t = 0; t < threads; t++) {
        assertEquals(commitsPerThread, store.resumeOffset("source-" + t));
      }
    }
  }

  @Test
  void shouldLeaveTheOldExportAndNoTempFileWhenAnExportFails() throws Exception {
    Path target = tempDir.resolve("prompts.jsonl");
    Files.writeString(target, "old\n");
    try (RecordStore store = RecordStore.inMemory()) {
      store.append(RecordKind.PROMPTS, prompt("a"));
      Path blocked = tempDir.resolve("a-file").resolve("prompts.jsonl");
      Files.writeString(tempDir.resolve("a-file"), "in the way");

      StoreException error = assertThrows(StoreException.class, () -> store.exportJsonl(RecordKind.PROMPTS, blocked));

      assertTrue(error.getMessage().contains("cannot export prompts(cai.v1.Prompt) to " + blocked), error.getMessage());
      assertEquals(1, store.exportJsonl(RecordKind.PROMPTS, target));
    }
    assertEquals("{\"id\":\"a\"}\n", Files.readString(target));
    try (Stream<Path> files = Files.list(tempDir)) {
      assertEquals(List.of("a-file", "prompts.jsonl"), files.map(p -> p.getFileName().toString()).sorted().toList());
    }
  }
}
