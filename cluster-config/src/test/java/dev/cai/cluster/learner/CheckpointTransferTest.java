package dev.cai.cluster.learner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.cai.persistence.CheckpointInfo;
import dev.cai.persistence.Commit;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.persistence.StoreSettings;
import dev.cai.persistence.Stored;
import dev.cai.protocol.v1.CheckpointChunk;
import dev.cai.protocol.v1.CheckpointFile;
import dev.cai.protocol.v1.CheckpointOffer;
import dev.cai.protocol.v1.LearnerStateHeader;
import dev.cai.protocol.v1.Prompt;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chunking a real RocksDB checkpoint, reassembling it on the "standby" side, checksum rejection, atomic install and
 * pruning, and the rule that picks the store a learner resumes from.
 */
class CheckpointTransferTest {
  private static final int CHUNK = 1000; // small, so that files span many chunks

  /** A store with {@code prompts} prompts and a learner header at {@code version}, and its checkpoint {@code name}. */
  private static CheckpointInfo storeWithCheckpoint(Path dir, String name, int prompts, long version) {
    try (RecordStore store = RecordStore.open(dir)) {
      Commit c = new Commit();
      for (int i = 0; i < prompts; i++) {
        c.append(RecordKind.PROMPTS, Prompt.newBuilder().setId("p-" + i).setText("question " + i + " ".repeat(i % 50))
            .build());
      }
      c.putLearnerHeader(LearnerStateHeader.newBuilder().setPolicyVersion(version).setStep(version).build());
      store.commit(c);
      return store.checkpoint(name);
    }
  }

  private static List<CheckpointChunk> chunks(CheckpointChunker c) {
    List<CheckpointChunk> out = new ArrayList<>();
    for (long s = 0; s < c.chunkCount(); s++) {
      out.add(c.chunk(s));
    }
    return out;
  }

  private static ShippedCheckpoints.Installed ship(CheckpointChunker c, ShippedCheckpoints to) {
    CheckpointAssembly a = to.begin(c.offer("reply", "pekko://cai@127.0.0.1:1"));
    chunks(c).forEach(a::accept);
    return a.install();
  }

  @Test
  void shouldReassembleARealRocksDbCheckpointBitForBitAndRestoreAStoreFromIt(@TempDir Path dir) throws Exception {
    CheckpointInfo info = storeWithCheckpoint(dir.resolve("active/store"), "v000004-1", 300, 4);
    CheckpointChunker chunker = new CheckpointChunker("v000004-1", 4, info.path(), CHUNK);
    assertTrue(chunker.chunkCount() > 5, "files span several chunks: " + chunker.chunkCount());
    for (CheckpointChunk c : chunks(chunker)) {
      assertTrue(c.getData().size() <= CHUNK && c.getSerializedSize() < CHUNK + 200, "chunk " + c.getSeq());
    }
    ShippedCheckpoints standby = new ShippedCheckpoints(dir.resolve("standby/shipped"));

    ShippedCheckpoints.Installed installed = ship(chunker, standby);

    assertEquals(new ShippedCheckpoints.Installed("v000004-1", 4, standby.root().resolve("v000004-1"),
        installed.createdAtMs()), installed);
    for (CheckpointFile f : CheckpointManifest.of(info.path()).files()) {
      assertArrayEquals(Files.readAllBytes(info.path().resolve(f.getPath())),
          Files.readAllBytes(installed.store().resolve(f.getPath())), f.getPath());
    }
    assertEquals(Optional.of(installed), standby.latest(p -> { }));
    try (RecordStore restored = RecordStore.restore(installed.store(), dir.resolve("standby/store"),
        StoreSettings.defaults())) {
      assertEquals(4, restored.learnerHeader().orElseThrow().getPolicyVersion());
      List<Stored<Prompt>> prompts = restored.read(RecordKind.PROMPTS, 0, 1000);
      assertEquals(300, prompts.size());
      assertEquals("question 299" + " ".repeat(299 % 50), prompts.get(299).record().getText());
    }
  }

  @Test
  void shouldDiscardATransferWhoseFileFailsItsSha256NamingTheCheckpointAndTheFile(@TempDir Path dir) {
    CheckpointInfo info = storeWithCheckpoint(dir.resolve("store"), "v000002-1", 100, 2);
    CheckpointChunker chunker = new CheckpointChunker("v000002-1", 2, info.path(), CHUNK);
    ShippedCheckpoints standby = new ShippedCheckpoints(dir.resolve("shipped"));
    CheckpointAssembly a = standby.begin(chunker.offer("reply", "sender"));
    List<CheckpointChunk> chunks = chunks(chunker);
    int bad = chunks.size() - 1;
    CheckpointChunk last = chunks.get(bad);
    byte[] flipped = last.getData().toByteArray();
    flipped[0] ^= 1;
    for (int i = 0; i < bad; i++) {
      a.accept(chunks.get(i));
    }

    CheckpointAssembly.Rejected e = assertThrows(CheckpointAssembly.Rejected.class,
        () -> a.accept(last.toBuilder().setData(ByteString.copyFrom(flipped)).build()));
    a.discard();

    assertTrue(e.getMessage().startsWith("checkpoint v000002-1: file " + last.getPath() + ": SHA-256 mismatch (expected "),
        e.getMessage());
    assertEquals(Optional.empty(), standby.latest(p -> { }));
    assertEquals(List.of(), children(standby.root()), "nothing of the corrupt transfer is left");
  }

  @Test
  void shouldNeverInstallAnIncompleteTransferAndCleanItsLeftoversOnRestart(@TempDir Path dir) {
    CheckpointInfo info = storeWithCheckpoint(dir.resolve("store"), "v000002-1", 100, 2);
    CheckpointChunker chunker = new CheckpointChunker("v000002-1", 2, info.path(), CHUNK);
    ShippedCheckpoints standby = new ShippedCheckpoints(dir.resolve("shipped"));
    CheckpointAssembly a = standby.begin(chunker.offer("reply", "sender"));
    for (long s = 0; s < chunker.chunkCount() / 2; s++) {
      a.accept(chunker.chunk(s));
    }

    CheckpointAssembly.Rejected e = assertThrows(CheckpointAssembly.Rejected.class, a::install);

    assertEquals("checkpoint v000002-1: incomplete: " + chunker.chunkCount() / 2 + " of " + chunker.chunkCount()
        + " chunks received", e.getMessage());
    assertEquals(Optional.empty(), standby.latest(p -> { }), "a partial transfer is invisible");
    // the node crashes here: on restart the receiver deletes what the transfer left
    assertEquals(List.of("v000002-1"), new ShippedCheckpoints(dir.resolve("shipped")).cleanIncoming());
    assertEquals(List.of(), children(standby.root()));
  }

  @Test
  void shouldRefuseAChunkOutOfOrderOrOfAnotherCheckpoint(@TempDir Path dir) {
    CheckpointInfo info = storeWithCheckpoint(dir.resolve("store"), "v000002-1", 100, 2);
    CheckpointChunker chunker = new CheckpointChunker("v000002-1", 2, info.path(), CHUNK);
    CheckpointAssembly a = new ShippedCheckpoints(dir.resolve("shipped")).begin(chunker.offer("reply", "sender"));
    a.accept(chunker.chunk(0));

    CheckpointAssembly.Rejected skipped = assertThrows(CheckpointAssembly.Rejected.class, () -> a.accept(chunker.chunk(2)));
    CheckpointAssembly.Rejected foreign = assertThrows(CheckpointAssembly.Rejected.class,
        () -> a.accept(chunker.chunk(1).toBuilder().setCheckpointId("v000009-9").build()));

    assertEquals("checkpoint v000002-1: file " + chunker.chunk(2).getPath() + ": chunk 2 arrived, expected chunk 1",
        skipped.getMessage());
    assertEquals("checkpoint v000002-1: got a chunk of checkpoint v000009-9", foreign.getMessage());
  }

  /** Why a standby in {@code dir} refuses an offer of checkpoint v1-1 holding {@code f} in {@code chunks} chunks. */
  private static String refusal(Path dir, CheckpointFile f, long chunks) {
    CheckpointOffer offer = CheckpointOffer.newBuilder().setCheckpointId("v1-1").setVersion(1).addFiles(f)
        .setChunkSize(CHUNK).setChunkCount(chunks).build();
    return assertThrows(CheckpointAssembly.Rejected.class,
        () -> new ShippedCheckpoints(dir.resolve("shipped")).begin(offer)).getMessage();
  }

  private static CheckpointFile file(String path, long size, String sha256) {
    return CheckpointFile.newBuilder().setPath(path).setSize(size).setSha256(sha256).build();
  }

  @Test
  void shouldRefuseAnOfferWhosePathsLeaveTheCheckpointDirectory(@TempDir Path dir) {
    String e = refusal(dir, file("../../.ssh/authorized_keys", 3, "0".repeat(64)), 1);

    assertEquals("checkpoint v1-1: bad offer: bad file path '../../.ssh/authorized_keys' (segment '..' is not a plain "
        + "file name)", e);
    assertFalse(Files.exists(dir.resolve("shipped")));
  }

  @Test
  void shouldRefuseAnOfferWhoseChunkCountDoesNotMatchItsFiles(@TempDir Path dir) {
    String e = refusal(dir, file("000001.sst", 2500, "a".repeat(64)), 2);

    assertEquals("checkpoint v1-1: bad offer: 2 chunks announced, but 1 files of 2500 bytes make 3", e);
  }

  @Test
  void shouldInstallEmptyFilesThatNoChunkCarries(@TempDir Path dir) throws Exception {
    Path source = Files.createDirectories(dir.resolve("source"));
    Files.write(source.resolve("000001.sst"), new byte[2 * CHUNK + 1]);
    Files.createFile(source.resolve("000002.log"));
    CheckpointChunker chunker = new CheckpointChunker("v000003-1", 3, source, CHUNK);

    ShippedCheckpoints.Installed installed = ship(chunker, new ShippedCheckpoints(dir.resolve("shipped")));

    assertEquals(3, chunker.chunkCount());
    assertEquals(2L * CHUNK + 1, Files.size(installed.store().resolve("000001.sst")));
    assertEquals(0L, Files.size(installed.store().resolve("000002.log")));
  }

  @Test
  void shouldRefuseAnOfferOfAnEmptyFileWhoseSha256IsNotThatOfNoBytes(@TempDir Path dir) {
    String e = refusal(dir, file("000002.log", 0, "a".repeat(64)), 0);

    assertEquals("checkpoint v1-1: bad offer: file '000002.log' is empty but its SHA-256 is " + "a".repeat(64)
        + ", not that of no bytes (e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)", e);
  }

  @Test
  void shouldKeepTheNewestCheckpointsByVersion(@TempDir Path dir) {
    ShippedCheckpoints standby = new ShippedCheckpoints(dir.resolve("shipped"));
    for (long v : new long[] {2, 6, 4}) {
      CheckpointInfo info = storeWithCheckpoint(dir.resolve("store"), "v00000" + v + "-1", 10, v);
      ship(new CheckpointChunker("v00000" + v + "-1", v, info.path(), CHUNK), standby);
    }

    List<String> removed = standby.prune(2, p -> { });

    assertEquals(List.of("v000002-1"), removed);
    assertEquals(List.of(6L, 4L), standby.installed(p -> { }).stream().map(ShippedCheckpoints.Installed::version).toList());
    assertEquals(6, standby.latest(p -> { }).orElseThrow().version());
  }

  @Test
  void shouldPickTheNewerStoreAndKeepTheOwnOneOnATie() {
    assertEquals(LearnerStores.Source.FRESH, LearnerStores.choose(Optional.empty(), Optional.empty()));
    assertEquals(LearnerStores.Source.SHIPPED, LearnerStores.choose(Optional.empty(), Optional.of(2L)));
    assertEquals(LearnerStores.Source.SHIPPED, LearnerStores.choose(Optional.of(2L), Optional.of(4L)));
    assertEquals(LearnerStores.Source.OWN, LearnerStores.choose(Optional.of(4L), Optional.of(4L)));
    assertEquals(LearnerStores.Source.OWN, LearnerStores.choose(Optional.of(6L), Optional.of(4L)));
    assertEquals(LearnerStores.Source.OWN, LearnerStores.choose(Optional.of(0L), Optional.empty()));
  }

  @Test
  void shouldRestoreTheShippedCheckpointOverAnOlderOwnStoreAndMoveTheOwnOneAside(@TempDir Path dir) {
    CheckpointInfo info = storeWithCheckpoint(dir.resolve("active/store"), "v000006-1", 20, 6);
    ShippedCheckpoints shipped = new ShippedCheckpoints(dir.resolve("standby/shipped"));
    ship(new CheckpointChunker("v000006-1", 6, info.path(), CHUNK), shipped);
    storeWithCheckpoint(dir.resolve("standby/store"), "own", 5, 2); // this node's older run
    List<String> events = new ArrayList<>();

    LearnerStores.Opened opened = LearnerStores.open(dir.resolve("standby"), shipped, StoreSettings.defaults(), events::add);
    try (RecordStore store = opened.store()) {
      assertEquals(LearnerStores.Source.SHIPPED, opened.source());
      assertEquals(6, opened.version());
      assertEquals(20, store.nextSequence(RecordKind.PROMPTS));
      assertEquals("shipped checkpoint v000006-1 at version 6", opened.describe());
    }
    assertEquals(1, events.size(), events.toString());
    assertTrue(events.get(0).startsWith("own store at version 2 is older than shipped checkpoint v000006-1 at version 6: "
        + "moved to " + dir.resolve("standby/store.superseded-")), events.get(0));
    try (RecordStore aside = RecordStore.open(Path.of(events.get(0).replaceAll(".*moved to ", "")))) {
      assertEquals(2, aside.learnerHeader().orElseThrow().getPolicyVersion(), "the older store is kept, not deleted");
    }

    LearnerStores.Opened again = LearnerStores.open(dir.resolve("standby"), shipped, StoreSettings.defaults(), events::add);
    try (RecordStore store = again.store()) {
      assertEquals(LearnerStores.Source.OWN, again.source(), "a tie keeps the node's own (restored) store");
      assertEquals(6, again.version());
    }
  }

  private static List<Path> children(Path dir) {
    if (!Files.exists(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.toList();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
