package dev.cai.persistence;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.JsonFormat;
import dev.cai.protocol.Codecs;
import dev.cai.protocol.v1.Comparison;
import dev.cai.protocol.v1.LearnerStateHeader;
import dev.cai.protocol.v1.Prompt;
import dev.cai.protocol.v1.Rollout;
import dev.cai.protocol.v1.SourceOffset;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The behaviour of {@link RecordStore} over every {@link KvStore} implementation. */
abstract class RecordStoreContractTest {
  @TempDir
  Path tempDir;

  /** Opens the store under test, creating it on first use; later calls reopen the same data. */
  abstract RecordStore open();

  /** The same data as raw bytes, without any validation; the record store must be closed. */
  abstract KvStore openRaw();

  /** A value that changes whenever any stored byte changes; the record store must be closed. */
  abstract Object fingerprint();

  static Prompt prompt(long i) {
    return Prompt.newBuilder().setId("p" + i).setText("prompt " + i).setSource("src").setSourceOffset(i).build();
  }

  private static List<String> ids(List<Stored<Prompt>> stored) {
    return stored.stream().map(s -> s.record().getId()).toList();
  }

  @Test
  void shouldIterateRecordsInInsertionOrderAcrossKeyByteBoundaries() {
    try (RecordStore store = open()) {
      for (int i = 0; i < 300; i++) {
        assertEquals(i, store.append(RecordKind.PROMPTS, prompt(i)));
      }
      List<Long> sequences = new ArrayList<>();
      List<String> texts = new ArrayList<>();
      long visited = store.forEach(RecordKind.PROMPTS, 0, stored -> {
        sequences.add(stored.sequence());
        texts.add(stored.record().getText());
      });
      assertEquals(300, visited);
      for (int i = 0; i < 300; i++) {
        assertEquals(i, sequences.get(i));
        assertEquals("prompt " + i, texts.get(i));
      }
      assertEquals(List.of("p250", "p251", "p252"), ids(store.read(RecordKind.PROMPTS, 250, 3)));
      assertEquals(List.of("p298", "p299"), ids(store.read(RecordKind.PROMPTS, 298, 10)));
      assertEquals(prompt(255), store.get(RecordKind.PROMPTS, 255).orElseThrow());
      assertTrue(store.get(RecordKind.PROMPTS, 300).isEmpty());
      assertEquals(0, store.nextSequence(RecordKind.ROLLOUTS));
    }
  }

  @Test
  void shouldCommitRecordsOfSeveralKindsWithTheirOffsetInOneBatch() {
    try (RecordStore store = open()) {
      Comparison comparison = Comparison.newBuilder().setPrompt(prompt(0)).setResponseA("a").setResponseB("b")
          .setPA(0.75).build();
      Rollout rollout = Rollout.newBuilder().setPromptId("p0").addResponseTokenIds(7).setScore(1.5f).build();

      List<Long> sequences = store.commit(new Commit()
          .append(RecordKind.COMPARISONS, comparison)
          .append(RecordKind.ROLLOUTS, rollout)
          .append(RecordKind.COMPARISONS, comparison)
          .offset("prompts.jsonl", 1));

      assertEquals(List.of(0L, 0L, 1L), sequences);
      assertEquals(2, store.nextSequence(RecordKind.COMPARISONS));
      assertEquals(rollout, store.get(RecordKind.ROLLOUTS, 0).orElseThrow());
      assertEquals(1, store.resumeOffset("prompts.jsonl"));
      assertEquals(Map.of("prompts.jsonl", 1L), store.offsets());
      assertEquals(0, store.resumeOffset("never-seen"));
    }
  }

  @Test
  void shouldWriteNothingAndUseNoSequenceWhenACommitIsRefused() {
    try (RecordStore store = open()) {
      store.commit(new Commit().append(RecordKind.PROMPTS, prompt(0)).offset("src", 10));

      Commit backwards = new Commit()
          .append(RecordKind.PROMPTS, prompt(1))
          .putLearnerState("header", new byte[] {1})
          .putMetadata("note", "x")
          .offset("src", 9);
      StoreException error = assertThrows(StoreException.class, () -> store.commit(backwards));

      assertTrue(error.getMessage().contains("offset of source 'src' would go back from 10 to 9"), error.getMessage());
      assertTrue(error.getMessage().contains(store.location()), error.getMessage());
      assertEquals(1, store.nextSequence(RecordKind.PROMPTS));
      assertTrue(store.get(RecordKind.PROMPTS, 1).isEmpty());
      assertTrue(store.learnerState("header").isEmpty());
      assertTrue(store.metadata("note").isEmpty());
      assertEquals(10, store.resumeOffset("src"));
      assertEquals(List.of(1L), store.commit(new Commit().append(RecordKind.PROMPTS, prompt(1)).offset("src", 11)));
    }
  }

  @Test
  void shouldResumeAStreamWithoutGapOrDuplicateAfterReopen() {
    int total = 100;
    int perCommit = 7;
    try (RecordStore store = open()) {
      // Consume the first five chunks of the source, then "stop".
      for (int chunk = 0; chunk < 5; chunk++) {
        commitChunk(store, store.resumeOffset("src"), perCommit, total);
      }
    }
    try (RecordStore store = open()) {
      assertEquals(35, store.resumeOffset("src"));
      assertEquals(35, store.nextSequence(RecordKind.PROMPTS));
      while (store.resumeOffset("src") < total) {
        commitChunk(store, store.resumeOffset("src"), perCommit, total);
      }
      List<Stored<Prompt>> all = store.read(RecordKind.PROMPTS, 0, 1000);
      assertEquals(total, all.size());
      for (int i = 0; i < total; i++) {
        assertEquals(i, all.get(i).sequence());
        assertEquals(prompt(i), all.get(i).record());
      }
    }
  }

  private static void commitChunk(RecordStore store, long from, int size, int total) {
    Commit commit = new Commit();
    long end = Math.min(from + size, total);
    for (long i = from; i < end; i++) {
      commit.append(RecordKind.PROMPTS, prompt(i));
    }
    store.commit(commit.offset("src", end));
  }

  @Test
  void shouldKeepLearnerStateAndMetadataAcrossReopen() {
    byte[] weights = new byte[4096];
    for (int i = 0; i < weights.length; i++) {
      weights[i] = (byte) (i * 31);
    }
    try (RecordStore store = open()) {
      store.commit(new Commit()
          .putLearnerState("header", new byte[] {1, 2, 3})
          .putLearnerState("tensor/policy.lm_head", weights)
          .putLearnerState("tensor/adam.m", new byte[] {9})
          .putMetadata("run.name", "demo")
          .offset("rollouts", 64));
      store.commit(new Commit().deleteLearnerState("tensor/adam.m").putLearnerState("header", new byte[] {4}));
    }
    try (RecordStore store = open()) {
      Map<String, byte[]> state = store.learnerState();
      assertEquals(List.of("header", "tensor/policy.lm_head"), List.copyOf(state.keySet()));
      assertEquals(List.of("header", "tensor/policy.lm_head"), store.learnerStateNames());
      assertArrayEquals(new byte[] {4}, state.get("header"));
      assertArrayEquals(weights, store.learnerState("tensor/policy.lm_head").orElseThrow());
      assertEquals("demo", store.metadata("run.name").orElseThrow());
      assertEquals(64, store.resumeOffset("rollouts"));
      assertEquals(Codecs.SCHEMA_VERSION, store.schemaVersion());
    }
  }

  @Test
  void shouldCommitTheLearnerHeaderWithItsTensorsAndOffsets() {
    LearnerStateHeader header = LearnerStateHeader.newBuilder()
        .setStep(12).setKlCoef(0.05).setPolicyVersion(3).setSchemaVersion(Codecs.SCHEMA_VERSION)
        .addTensorNames("policy.w")
        .addInputOffsets(SourceOffset.newBuilder().setSource("rollouts").setOffset(96))
        .build();
    try (RecordStore store = open()) {
      assertTrue(store.learnerHeader().isEmpty());
      store.commit(new Commit().putLearnerHeader(header).putLearnerState("policy.w", new byte[] {5, 6})
          .offset("rollouts", 96));
    }
    try (RecordStore store = open()) {
      assertEquals(header, store.learnerHeader().orElseThrow());
      assertArrayEquals(new byte[] {5, 6}, store.learnerState("policy.w").orElseThrow());
      assertEquals(96, store.resumeOffset("rollouts"));
    }
  }

  @Test
  void shouldRejectReservedMetadataKeys() {
    IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
        () -> new Commit().putMetadata("cai.schema_version", "99"));
    assertTrue(error.getMessage().contains("reserved"), error.getMessage());
  }

  @Test
  void shouldListCheckpointsAndRestoreThemAsIndependentStores() {
    try (RecordStore store = open()) {
      for (int i = 0; i < 10; i++) {
        store.commit(new Commit().append(RecordKind.PROMPTS, prompt(i)).offset("src", i + 1));
      }
      CheckpointInfo first = store.checkpoint("after-10");
      for (int i = 10; i < 15; i++) {
        store.commit(new Commit().append(RecordKind.PROMPTS, prompt(i)).offset("src", i + 1));
      }
      store.checkpoint("after-15");

      List<CheckpointInfo> listed = store.listCheckpoints();
      assertEquals(List.of("after-10", "after-15"), listed.stream().map(CheckpointInfo::name).toList());
      assertEquals(first, listed.get(0));
      assertEquals(10L, listed.get(0).nextSequences().get("prompts"));
      assertEquals(15L, listed.get(1).nextSequences().get("prompts"));
      assertEquals(Map.of("src", 10L), listed.get(0).offsets());

      try (RecordStore restored = store.restore("after-10", tempDir.resolve("restored"))) {
        assertEquals(10, restored.nextSequence(RecordKind.PROMPTS));
        assertEquals(10, restored.resumeOffset("src"));
        assertEquals(prompt(9), restored.get(RecordKind.PROMPTS, 9).orElseThrow());
        assertEquals(10, restored.append(RecordKind.PROMPTS, prompt(99)));
      }
      assertEquals(prompt(10), store.get(RecordKind.PROMPTS, 10).orElseThrow());
      assertEquals(15, store.nextSequence(RecordKind.PROMPTS));

      StoreException duplicate = assertThrows(StoreException.class, () -> store.checkpoint("after-10"));
      assertTrue(duplicate.getMessage().contains("checkpoint 'after-10' already exists"), duplicate.getMessage());
      StoreException unknown = assertThrows(StoreException.class,
          () -> store.restore("nope", tempDir.resolve("other")));
      assertTrue(unknown.getMessage().contains("no checkpoint named 'nope'; have [after-10, after-15]"),
          unknown.getMessage());
    }
    try (RecordStore store = open()) {
      assertEquals(2, store.listCheckpoints().size());
    }
  }

  @Test
  void shouldDeleteACheckpointsIndexEntryAndThenItsDirectory() {
    CheckpointInfo a;
    try (RecordStore store = open()) {
      store.commit(new Commit().append(RecordKind.PROMPTS, prompt(0)).offset("src", 1));
      a = store.checkpoint("a");
      store.checkpoint("b");

      store.deleteCheckpoint("a");

      assertEquals(List.of("b"), store.listCheckpoints().stream().map(CheckpointInfo::name).toList());
      StoreException unknown = assertThrows(StoreException.class, () -> store.deleteCheckpoint("a"));
      assertTrue(unknown.getMessage().contains("no checkpoint named 'a'; have [b]"), unknown.getMessage());
    }
    try (KvStore raw = openRaw()) {
      assertThrows(StoreException.class, () -> raw.restore(a.path(), tempDir.resolve("from-a"), kv -> { }),
          "the checkpoint's directory is gone");
    }
    try (RecordStore store = open()) {
      assertEquals(List.of("b"), store.listCheckpoints().stream().map(CheckpointInfo::name).toList());
    }
  }

  @Test
  void shouldKeepAnotherStoresCheckpointWhenDeletingAnEntryInheritedThroughARestore() {
    try (RecordStore store = open()) {
      store.commit(new Commit().append(RecordKind.PROMPTS, prompt(0)).offset("src", 1));
      store.checkpoint("a");
      store.checkpoint("b");
      try (RecordStore copy = store.restore("b", tempDir.resolve("copy"))) {
        assertEquals(List.of("a"), copy.listCheckpoints().stream().map(CheckpointInfo::name).toList());

        copy.deleteCheckpoint("a");

        assertEquals(List.of(), copy.listCheckpoints());
      }
      try (RecordStore fromA = store.restore("a", tempDir.resolve("from-a"))) {
        assertEquals(1, fromA.nextSequence(RecordKind.PROMPTS), "the original's checkpoint a is intact");
      }
    }
  }

  @Test
  void shouldExportEveryRecordOfAKindAsJsonLinesInInsertionOrder() throws IOException {
    Path target = tempDir.resolve("export").resolve("comparisons.jsonl");
    List<Comparison> comparisons = new ArrayList<>();
    try (RecordStore store = open()) {
      for (int i = 0; i < 5; i++) {
        Comparison comparison = Comparison.newBuilder()
            .setPrompt(prompt(i))
            .setResponseA("line one\nline two \"quoted\" é")
            .setResponseB("b" + i)
            .setPA(i / 4.0)
            .setPASwapped(Double.NaN)
            .addEnsemblePrincipleIds("harmless")
            .build();
        comparisons.add(comparison);
        store.append(RecordKind.COMPARISONS, comparison);
      }
      store.append(RecordKind.PROMPTS, Prompt.newBuilder().setId("x").setText("hi\nthere").setSourceOffset(3).build());

      assertEquals(5, store.exportJsonl(RecordKind.COMPARISONS, target));
      Path prompts = tempDir.resolve("export").resolve("prompts.jsonl");
      assertEquals(1, store.exportJsonl(RecordKind.PROMPTS, prompts));
      assertEquals(List.of(
          "{\"id\":\"x\",\"text\":\"hi\\nthere\",\"source_offset\":\"3\"}"),
          Files.readAllLines(prompts, StandardCharsets.UTF_8));
    }
    List<String> lines = Files.readAllLines(target, StandardCharsets.UTF_8);
    assertEquals(5, lines.size());
    for (int i = 0; i < lines.size(); i++) {
      Comparison.Builder parsed = Comparison.newBuilder();
      JsonFormat.parser().merge(lines.get(i), parsed);
      assertEquals(comparisons.get(i).toString(), parsed.build().toString());
      assertTrue(lines.get(i).contains("\"p_a_swapped\":\"NaN\""), lines.get(i));
    }
    try (Stream<Path> files = Files.list(target.getParent())) {
      assertEquals(List.of("comparisons.jsonl", "prompts.jsonl"),
          files.map(p -> p.getFileName().toString()).sorted().toList());
    }
  }

  @Test
  void shouldRecoverNextSequencesOnReopen() {
    try (RecordStore store = open()) {
      store.append(RecordKind.ROLLOUTS, Rollout.getDefaultInstance());
      store.append(RecordKind.ROLLOUTS, Rollout.getDefaultInstance());
      store.append(RecordKind.SL_EXAMPLES, dev.cai.protocol.v1.SlExample.getDefaultInstance());
    }
    try (RecordStore store = open()) {
      assertEquals(2, store.nextSequence(RecordKind.ROLLOUTS));
      assertEquals(1, store.nextSequence(RecordKind.SL_EXAMPLES));
      assertEquals(0, store.nextSequence(RecordKind.PROMPTS));
      assertEquals(2, store.append(RecordKind.ROLLOUTS, Rollout.getDefaultInstance()));
    }
  }

  @Test
  void shouldRefuseAStoreOfANewerSchemaVersionAndLeaveItUnchanged() {
    try (RecordStore store = open()) {
      store.append(RecordKind.PROMPTS, prompt(0));
    }
    try (KvStore raw = openRaw()) {
      raw.write(new KvBatch().put(RecordStore.RUN_METADATA, Keys.name("cai.schema_version"),
          Keys.name(Integer.toString(Codecs.SCHEMA_VERSION + 1))));
    }
    Object before = fingerprint();

    StoreException error = assertThrows(StoreException.class, this::open);

    assertTrue(error.getMessage().contains("written by schema version " + (Codecs.SCHEMA_VERSION + 1)
        + ", newer than version " + Codecs.SCHEMA_VERSION + " of this build"), error.getMessage());
    assertTrue(error.getMessage().startsWith("Store " + error.location() + ": "), error.getMessage());
    assertEquals(before, fingerprint());
  }

  @Test
  void shouldRefuseAStoreWhoseMarkerIsMissingAndLeaveItUnchanged() {
    try (RecordStore store = open()) {
      store.append(RecordKind.PROMPTS, prompt(0));
    }
    try (KvStore raw = openRaw()) {
      raw.write(new KvBatch().delete(RecordStore.RUN_METADATA, Keys.name("cai.store")));
    }
    Object before = fingerprint();

    StoreException error = assertThrows(StoreException.class, this::open);

    assertTrue(error.getMessage().contains("not a cai store: column family"), error.getMessage());
    assertTrue(error.getMessage().contains("has no 'cai.store' marker"), error.getMessage());
    assertEquals(before, fingerprint());
  }

  @Test
  void shouldRefuseAStoreWithAForeignMarker() {
    try (RecordStore store = open()) {
      store.append(RecordKind.PROMPTS, prompt(0));
    }
    try (KvStore raw = openRaw()) {
      raw.write(new KvBatch().put(RecordStore.RUN_METADATA, Keys.name("cai.store"), Keys.name("someone.else")));
    }
    StoreException error = assertThrows(StoreException.class, this::open);
    assertTrue(error.getMessage().contains("marker 'cai.store' is 'someone.else'"), error.getMessage());
  }

  @Test
  void shouldReportACorruptRecordWithItsKindAndSequence() {
    try (RecordStore store = open()) {
      store.append(RecordKind.PROMPTS, prompt(0));
    }
    try (KvStore raw = openRaw()) {
      raw.write(new KvBatch().put("prompts", Keys.sequence(1), new byte[] {(byte) 0xFF, (byte) 0xFF, 0x01}));
    }
    try (RecordStore store = open()) {
      assertEquals(2, store.nextSequence(RecordKind.PROMPTS));
      StoreException error = assertThrows(StoreException.class, () -> store.read(RecordKind.PROMPTS, 0, 10));
      assertTrue(error.getMessage().contains("corrupt record #1 in 'prompts'"), error.getMessage());
      assertTrue(error.getMessage().contains("cai.v1.Prompt"), error.getMessage());
      assertFalse(error.getMessage().contains("#0"), error.getMessage());
    }
  }
}
