package dev.cai.streams;

import dev.cai.streams.PromptReader.PromptFileException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Objects;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.SourceShape;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;

/**
 * The non-blank lines of a text file after line {@code afterLine}, then (when following) the lines appended
 * later, polled every {@code poll}. Only complete lines, ended by {@code '\n'}, are read while following, so
 * a line that is still being written is never seen half; without following, the file is taken as complete
 * and a last line without {@code '\n'} is read too. Line numbers count every line, blank ones included, as
 * {@link PromptReader} does. A followed file that shrinks or is replaced fails the stage: offsets into it
 * would no longer mean anything.
 */
final class FileTail extends GraphStage<SourceShape<FileTail.Line>> {
  /** One line: its 1-based number and its text without the line terminator. */
  record Line(long number, String text) {}

  private static final int CHUNK = 64 * 1024;
  /** The longest line read (a line still growing past it fails the stage instead of filling memory). */
  static final int MAX_LINE_BYTES = 16 * 1024 * 1024;

  private final Path file;
  private final long afterLine;
  private final Duration poll;
  private final boolean follow;
  private final int maxLineBytes;
  private final Outlet<Line> out = Outlet.create("FileTail.out");
  private final SourceShape<Line> shape = SourceShape.of(out);

  FileTail(Path file, long afterLine, Duration poll, boolean follow) {
    this(file, afterLine, poll, follow, MAX_LINE_BYTES);
  }

  FileTail(Path file, long afterLine, Duration poll, boolean follow, int maxLineBytes) {
    if (afterLine < 0 || poll.isNegative() || poll.isZero() || maxLineBytes < 1) {
      throw new IllegalArgumentException("FileTail needs afterLine >= 0 and a positive poll interval; got " + afterLine
          + ", " + poll);
    }
    this.file = file;
    this.afterLine = afterLine;
    this.poll = poll;
    this.follow = follow;
    this.maxLineBytes = maxLineBytes;
  }

  @Override
  public SourceShape<Line> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new TimerGraphStageLogic(shape) {
      private final ByteBuffer buffer = ByteBuffer.allocate(CHUNK);
      private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
      private final ArrayDeque<Line> ready = new ArrayDeque<>();
      private FileChannel channel;
      private Object fileKey;
      private long position; // bytes read so far (complete lines + partial)
      private long lines; // complete lines seen so far, blank and skipped ones included
      private boolean reachedEnd; // the first end of file was seen (the resume offset is checked there)
      private boolean timerPending;

      {
        setHandler(out, new AbstractOutHandler() {
          @Override
          public void onPull() {
            deliver();
          }
        });
      }

      @Override
      public void preStart() {
        try {
          channel = FileChannel.open(file, StandardOpenOption.READ);
          fileKey = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        } catch (NoSuchFileException e) {
          failStage(new PromptFileException(file + ": prompt file does not exist"));
        } catch (IOException e) {
          failStage(new PromptFileException(file + ": cannot read: " + e.getMessage(), e));
        }
      }

      @Override
      public void onTimer(Object key) {
        timerPending = false;
        if (isAvailable(out)) {
          deliver();
        }
      }

      @Override
      public void postStop() {
        if (channel != null) {
          try {
            channel.close();
          } catch (IOException ignored) {
            // nothing was written; a failed close loses nothing
          }
        }
      }

      private void deliver() {
        try {
          while (ready.isEmpty() && readChunk() > 0) {
            // read until a line is complete or the end of the file
          }
          if (ready.isEmpty() && !reachedEnd) {
            firstEnd();
          }
          if (!ready.isEmpty()) {
            push(out, ready.poll());
          } else if (!follow) {
            completeStage();
          } else {
            checkStillTheSameFile();
            if (!timerPending) {
              timerPending = true;
              scheduleOnce("poll", poll);
            }
          }
        } catch (PromptFileException e) {
          failStage(e);
        } catch (IOException e) {
          failStage(new PromptFileException(file + ":" + (lines + 1) + ": cannot read: " + e.getMessage(), e));
        }
      }

      /** Reads the next chunk; returns the bytes read (0 or less at the end of the file). */
      private int readChunk() throws IOException {
        buffer.clear();
        int n = channel.read(buffer, position);
        if (n <= 0) {
          return n;
        }
        byte[] bytes = buffer.array();
        int start = 0;
        for (int i = 0; i < n; i++) {
          if (bytes[i] == '\n') {
            partial.write(bytes, start, i - start);
            completeLine();
            start = i + 1;
          }
        }
        partial.write(bytes, start, n - start);
        position += n;
        if (partial.size() > maxLineBytes) {
          throw new PromptFileException(file + ":" + (lines + 1) + ": line longer than " + maxLineBytes + " bytes");
        }
        return n;
      }

      private void completeLine() {
        lines++;
        String text = partial.toString(StandardCharsets.UTF_8);
        partial.reset();
        if (text.endsWith("\r")) {
          text = text.substring(0, text.length() - 1);
        }
        if (lines > afterLine && !text.isBlank()) {
          ready.add(new Line(lines, text));
        }
      }

      /** At the first end of file: a complete file's last line, and whether the resume offset exists. */
      private void firstEnd() {
        reachedEnd = true;
        if (!follow && partial.size() > 0) {
          completeLine();
        }
        if (lines < afterLine) {
          throw new PromptFileException(file + ": has " + lines + (follow ? " complete" : "") + " lines but the run "
              + "already consumed " + afterLine + " (was the file truncated or replaced?)");
        }
      }

      private void checkStillTheSameFile() throws IOException {
        long size = channel.size();
        Object key;
        try {
          key = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        } catch (NoSuchFileException e) {
          throw new PromptFileException(file + ": was deleted while being followed");
        }
        if (size < position || !Objects.equals(key, fileKey)) {
          throw new PromptFileException(file + ": was " + (size < position ? "truncated" : "replaced")
              + " while being followed; only appending to a followed prompt file is supported");
        }
      }
    };
  }
}
