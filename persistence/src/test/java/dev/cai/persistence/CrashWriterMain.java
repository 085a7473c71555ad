package dev.cai.persistence;

import dev.cai.protocol.v1.Prompt;
import java.nio.file.Path;

/**
 * Child process of {@link RecordStoreCrashIT}: streams commits of {@link #RECORDS_PER_COMMIT} prompts
 * plus the source offset they consumed, printing "committed N" after each acknowledged commit.
 *
 * <p>Arguments: store directory, and the offset to stop at ({@code -1}: never stop, wait to be killed).
 */
public final class CrashWriterMain {
  static final String SOURCE = "crash-source.jsonl";
  static final int RECORDS_PER_COMMIT = 3;
  private static final String PAYLOAD = "x".repeat(200);

  private CrashWriterMain() {}

  /** The j-th record produced from element {@code offset} of the source. */
  static Prompt record(long offset, int j) {
    return Prompt.newBuilder()
        .setId(offset + "/" + j)
        .setText(PAYLOAD)
        .setSource(SOURCE)
        .setSourceOffset(offset)
        .build();
  }

  public static void main(String[] args) {
    Path dir = Path.of(args[0]);
    long stopAt = Long.parseLong(args[1]);
    try (RecordStore store = RecordStore.open(dir)) {
      long offset = store.resumeOffset(SOURCE);
      System.out.println("resumed " + offset);
      System.out.flush();
      while (stopAt < 0 || offset < stopAt) {
        Commit commit = new Commit();
        for (int j = 0; j < RECORDS_PER_COMMIT; j++) {
          commit.append(RecordKind.PROMPTS, record(offset, j));
        }
        store.commit(commit.offset(SOURCE, offset + 1));
        offset++;
        // Printed only after commit() returned: every number the parent reads is acknowledged.
        System.out.println("committed " + offset);
        System.out.flush();
      }
    }
    System.out.println("done");
    System.out.flush();
  }
}
