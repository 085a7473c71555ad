package dev.cai.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.cai.protocol.v1.Prompt;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a child JVM with SIGKILL in the middle of a long stream of commits, several times at different
 * points, and proves after each kill that every acknowledged commit is present exactly once, no commit
 * is present in part, and the stream resumes from the committed offset with no gap or duplicate.
 */
class RecordStoreCrashIT {
  private static final long LINE_TIMEOUT_S = 60;
  private static final int K = CrashWriterMain.RECORDS_PER_COMMIT;

  @TempDir
  Path tempDir;

  @Test
  void shouldResumeWithoutDuplicatesOrGapsAfterKillNine() throws Exception {
    Path dir = tempDir.resolve("db");
    long committed = 0;
    // Acknowledged commits to wait for before each kill: early, later, and right after a restart.
    for (int killAfter : new int[] {250, 2500, 20}) {
      Child child = Child.start(dir, -1, tempDir.resolve("stderr-" + killAfter + ".txt"));
      assertEquals("resumed " + committed, child.line(), child.diagnostics());
      long acknowledged = committed;
      for (int i = 0; i < killAfter; i++) {
        String line = child.line();
        assertNotNull(line, child.diagnostics());
        acknowledged = Long.parseLong(line.substring("committed ".length()));
      }
      child.process.destroyForcibly();  // SIGKILL on Linux: no shutdown hook, no close, no WAL sync.
      assertTrue(child.process.waitFor(30, TimeUnit.SECONDS), "child did not die");
      assertEquals(137, child.process.exitValue(), "child must have died from SIGKILL; " + child.diagnostics());

      committed = verify(dir, acknowledged);
      System.out.printf("killed after %d acks: acknowledged offset %d, committed offset %d%n",
          killAfter, acknowledged, committed);
    }

    // A clean run resumes exactly at the committed offset and continues the sequence.
    long stopAt = committed + 300;
    Child child = Child.start(dir, stopAt, tempDir.resolve("stderr-final.txt"));
    assertEquals("resumed " + committed, child.line(), child.diagnostics());
    String line;
    String last = null;
    while ((line = child.line()) != null && !line.equals("done")) {
      last = line;
    }
    assertEquals("committed " + stopAt, last, child.diagnostics());
    assertTrue(child.process.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, child.process.exitValue(), child.diagnostics());
    assertEquals(stopAt, verify(dir, stopAt));
  }

  /**
   * Checks the store holds exactly the records of offsets [0, committed) in order, K per offset, and
   * that the committed offset covers everything acknowledged; returns the committed offset.
   */
  private static long verify(Path dir, long acknowledged) {
    try (RecordStore store = RecordStore.open(dir)) {
      long committed = store.resumeOffset(CrashWriterMain.SOURCE);
      assertTrue(committed >= acknowledged, "committed offset " + committed + " lost acknowledged " + acknowledged);
      assertEquals(committed * K, store.nextSequence(RecordKind.PROMPTS),
          "record count must be exactly K per committed offset (no partial commit, nothing beyond the offset)");
      long[] expected = {0};
      long visited = store.forEach(RecordKind.PROMPTS, 0, stored -> {
        long sequence = expected[0]++;
        assertEquals(sequence, stored.sequence(), "gap in sequence numbers");
        Prompt want = CrashWriterMain.record(sequence / K, (int) (sequence % K));
        if (!want.equals(stored.record())) {
          fail("record #" + sequence + " is " + stored.record().getId() + ", expected " + want.getId());
        }
      });
      assertEquals(committed * K, visited);
      return committed;
    }
  }

  /** A forked writer JVM whose stdout lines arrive on a queue, so reads can time out. */
  private record Child(Process process, BlockingQueue<String> lines, Path stderr) {
    private static final String EOF = "\u0000eof";

    static Child start(Path dir, long stopAt, Path stderr) throws IOException {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      Process process = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
          CrashWriterMain.class.getName(), dir.toString(), Long.toString(stopAt))
          .redirectError(stderr.toFile())
          .start();
      BlockingQueue<String> lines = new LinkedBlockingQueue<>();
      Thread reader = new Thread(() -> {
        try (BufferedReader in = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = in.readLine()) != null) {
            lines.add(line);
          }
        } catch (IOException e) {
          // The pipe breaks when the child is killed; everything read so far is on the queue.
        } finally {
          lines.add(EOF);
        }
      }, "crash-child-stdout");
      reader.setDaemon(true);
      reader.start();
      return new Child(process, lines, stderr);
    }

    /** The next stdout line, or null at end of output; fails after {@link #LINE_TIMEOUT_S} of silence. */
    String line() throws InterruptedException {
      String line = lines.poll(LINE_TIMEOUT_S, TimeUnit.SECONDS);
      if (line == null) {
        process.destroyForcibly();
        fail("child wrote nothing for " + LINE_TIMEOUT_S + " s; " + diagnostics());
      }
      return EOF.equals(line) ? null : line;
    }

    String diagnostics() {
      try {
        List<String> err = Files.exists(stderr) ? Files.readAllLines(stderr, StandardCharsets.UTF_8) : List.of();
        return "child stderr: " + String.join("\n", err.subList(Math.max(0, err.size() - 40), err.size()));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
