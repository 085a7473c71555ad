package dev.cai.streams;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.cai.protocol.v1.Prompt;
import dev.cai.streams.PromptReader.PromptFileException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The durable inbox of a live run: prompts submitted while it runs (e.g. by HTTP) are appended to a JSONL
 * file in the run directory ({@value #FILE_NAME}) and fsync'ed before the submitter is told their line
 * numbers; the run follows that file with {@link LivePrompts} like any prompt file, so submitted prompts get
 * offsets, are committed exactly once and survive a crash. The backlog is bounded: while more than
 * {@code maxPending} appended lines have not been taken by the run, {@link #append} answers {@link Busy}.
 * One journal per file per process; the file is locked against other processes. Only the journal writes the file.
 */
public final class PromptJournal implements AutoCloseable {
  /** The journal's file name in a run directory. */
  public static final String FILE_NAME = "live-prompts.jsonl";

  private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

  private final Path file;
  private final int maxPending;
  private final FileChannel channel;
  private final FileLock lock;
  private final long truncatedBytes;
  private long size;
  private long lines;
  private long pulled;

  /**
   * A prompt to append: its text (a single human turn, or an hh-rlhf style transcript), an optional id
   * (default {@code live-prompts.jsonl:LINE}) and an optional helpful flag (default false: a red-team prompt).
   */
  public record Submission(String text, Optional<String> id, Optional<Boolean> helpful) {
    public Submission {
      Objects.requireNonNull(text, "text");
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(helpful, "helpful");
    }

    public static Submission of(String text) {
      return new Submission(text, Optional.empty(), Optional.empty());
    }
  }

  /** One appended prompt: its id and its line in the journal (its offset). */
  public record Accepted(String id, long offset) {}

  /** What {@link #append} did. */
  public sealed interface Result permits Appended, Busy {}

  /** Every submission was appended and is on disk, in order. */
  public record Appended(List<Accepted> prompts) implements Result {}

  /** Nothing was appended: {@code pending} appended lines wait for the run, at most {@code maxPending} may. */
  public record Busy(long pending, int maxPending) implements Result {
    public String message() {
      return "busy: " + pending + " submitted prompts wait to be read by the run (at most " + maxPending
          + ", cai.live.max-pending); retry later";
    }
  }

  private PromptJournal(Path file, int maxPending, FileChannel channel, FileLock lock, long size, long lines,
      long truncatedBytes) {
    this.file = file;
    this.maxPending = maxPending;
    this.channel = channel;
    this.lock = lock;
    this.size = size;
    this.lines = lines;
    this.pulled = lines; // what is already there is not backlog of this process
    this.truncatedBytes = truncatedBytes;
  }

  /** The journal in {@code runDir} ({@value #FILE_NAME}). */
  public static PromptJournal inRun(Path runDir, int maxPending) {
    return open(runDir.resolve(FILE_NAME), maxPending);
  }

  /**
   * Opens (creating) the journal file. A last line without {@code '\n'} — a write cut off by a crash, never
   * acknowledged — is cut away ({@link #truncatedBytes()}).
   */
  public static PromptJournal open(Path file, int maxPending) {
    if (maxPending < 1) {
      throw new IllegalArgumentException("a prompt journal needs maxPending >= 1; got " + maxPending);
    }
    FileChannel ch = null;
    try {
      Path dir = file.toAbsolutePath().getParent();
      Files.createDirectories(dir);
      boolean created = !Files.exists(file);
      ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        throw new IllegalStateException(file + ": the prompt journal is in use by another cai process");
      }
      long size = ch.size();
      long[] scan = scan(ch, 0, size);
      long complete = scan[1];
      long truncated = size - complete;
      if (truncated > 0) {
        ch.truncate(complete);
        ch.force(true);
      }
      if (created) {
        forceDirectory(dir);
      }
      return new PromptJournal(file, maxPending, ch, lock, complete, scan[0], truncated);
    } catch (IOException e) {
      closeQuietly(ch);
      throw new IllegalStateException(file + ": cannot open the prompt journal: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      closeQuietly(ch);
      throw e;
    }
  }

  /** The journal as a prompt source (red-team by default; a line's {@code "helpful"} overrides it). */
  public PromptSource source() {
    return new PromptSource(file, false);
  }

  public Path file() {
    return file;
  }

  /** Bytes of a partial last line cut away when the journal was opened (0 normally). */
  public long truncatedBytes() {
    return truncatedBytes;
  }

  /** Complete lines in the file. */
  public synchronized long lines() {
    return lines;
  }

  /** Appended lines the run has not taken yet. */
  public synchronized long pending() {
    return Math.max(0, lines - pulled);
  }

  /** Tells the journal the run has taken line {@code offset} (and every line before it). */
  public synchronized void pulled(long offset) {
    pulled = Math.max(pulled, offset);
  }

  /**
   * Appends {@code submissions} in order, all or none, and forces them to disk before returning their
   * offsets.
   *
   * @throws IllegalArgumentException naming the submission (1-based) and the problem, when one is not a valid
   *     prompt; nothing is appended then
   */
  public synchronized Result append(List<Submission> submissions) {
    if (submissions.isEmpty()) {
      throw new IllegalArgumentException("no prompts to append");
    }
    long backlog = pending();
    if (backlog + submissions.size() > maxPending) {
      return new Busy(backlog, maxPending);
    }
    try {
      catchUpWithFile();
      StringBuilder text = new StringBuilder();
      List<Accepted> accepted = new ArrayList<>(submissions.size());
      for (int i = 0; i < submissions.size(); i++) {
        String line = toLine(submissions.get(i));
        long offset = lines + i + 1;
        Prompt p;
        try {
          p = PromptReader.parseLine(file, offset, line, false);
        } catch (PromptFileException e) {
          String prefix = file + ":" + offset + ": ";
          String problem = e.getMessage().startsWith(prefix) ? e.getMessage().substring(prefix.length()) : e.getMessage();
          throw new IllegalArgumentException("prompt " + (i + 1) + ": " + problem, e);
        }
        accepted.add(new Accepted(p.getId(), offset));
        text.append(line).append('\n');
      }
      ByteBuffer bytes = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
      long at = size;
      while (bytes.hasRemaining()) {
        at += channel.write(bytes, at);
      }
      channel.force(false); // the lines are on disk before anyone hears of their offsets
      size = at;
      lines += submissions.size();
      return new Appended(List.copyOf(accepted));
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot append prompts: " + e.getMessage(), e);
    }
  }

  /** The JSONL line of a submission: {@code {"prompt": ..., "id": ..., "helpful": ...}}. */
  static String toLine(Submission s) {
    JsonObject o = new JsonObject();
    o.addProperty("prompt", s.text());
    s.id().ifPresent(id -> o.addProperty("id", id));
    s.helpful().ifPresent(h -> o.addProperty("helpful", h));
    return GSON.toJson(o); // one line: JSON strings escape line breaks
  }

  /** Accounts for lines someone else appended (documented as unsupported, but offsets must stay right). */
  private void catchUpWithFile() throws IOException {
    long now = channel.size();
    if (now == size) {
      return;
    }
    if (now < size) {
      throw new IllegalStateException(file + ": the prompt journal shrank from " + size + " to " + now
          + " bytes behind cai's back");
    }
    long[] scan = scan(channel, size, now);
    if (scan[1] != now) {
      throw new IllegalStateException(file + ": another writer left a partial line at the end of the prompt journal; "
          + "only cai appends to it");
    }
    lines += scan[0];
    size = now;
  }

  /** {newlines in [from, to), the byte position just after the last newline (or {@code from})}. */
  private static long[] scan(FileChannel ch, long from, long to) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
    long newlines = 0;
    long afterLast = from;
    long pos = from;
    while (pos < to) {
      buf.clear();
      int n = ch.read(buf, pos);
      if (n <= 0) {
        break;
      }
      for (int i = 0; i < n && pos + i < to; i++) {
        if (buf.get(i) == '\n') {
          newlines++;
          afterLast = pos + i + 1;
        }
      }
      pos += n;
    }
    return new long[] {newlines, afterLast};
  }

  private static void forceDirectory(Path dir) {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true); // the new file's directory entry survives a crash
    } catch (IOException | UnsupportedOperationException ignored) {
      // not every platform can open a directory; the file's own fsync still holds its data
    }
  }

  private static void closeQuietly(FileChannel ch) {
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // already failing with the first error
      }
    }
  }

  /** Releases the lock, then closes the file (every append was already forced). */
  @Override
  public synchronized void close() {
    try {
      lock.release();
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot close the prompt journal: " + e.getMessage(), e);
    }
  }
}
