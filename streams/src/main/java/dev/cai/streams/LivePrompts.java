package dev.cai.streams;

import com.typesafe.config.Config;
import dev.cai.protocol.v1.Prompt;
import dev.cai.streams.PromptReader.PromptFileException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.ToLongFunction;
import java.util.zip.GZIPInputStream;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.ActorAttributes;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A live prompt feed: the prompts of JSONL files (after each file's committed line), then the lines appended
 * to them while the run is live, merged with prompts offered in memory through a bounded queue. Lines are
 * parsed by {@link PromptReader#parseLine}, so a live file takes every shape a prompt file takes. When
 * following, the source never completes on its own: {@link Control#stop()} completes it. Without following it
 * reads what the files hold now and completes. Memory is bounded: one chunk per file and the queue's capacity.
 */
public final class LivePrompts {
  /** The {@link SourcedPrompt#sourceId()} of prompts offered in memory. */
  public static final String SUBMITTED = "submitted";

  private static final String IO_DISPATCHER = "pekko.stream.materializer.blocking-io-dispatcher";

  private LivePrompts() {}

  /**
   * How the feed reads.
   *
   * @param pollInterval how often a followed file is checked for appended lines
   * @param follow keep reading lines appended later; false = read what the files hold now, then complete
   * @param skipBadLines report a malformed line and go on; false = fail the stream with it
   * @param queueCapacity prompts the in-memory queue holds before {@link Control#offer} answers BUSY
   */
  public record Settings(Duration pollInterval, boolean follow, boolean skipBadLines, int queueCapacity) {
    public Settings {
      if (pollInterval == null || pollInterval.isNegative() || pollInterval.isZero() || queueCapacity < 1) {
        throw new IllegalArgumentException("live prompt settings need a positive poll interval and queue capacity >= 1; got "
            + pollInterval + ", " + queueCapacity);
      }
    }

    /** From {@code cai.live} (see reference.conf); {@code follow} is the command's choice. */
    public static Settings fromConfig(Config live, boolean follow) {
      return new Settings(live.getDuration("poll-interval"), follow, live.getBoolean("skip-bad-lines"),
          live.getInt("queue-capacity"));
    }
  }

  /** What {@link Control#offer} did with a prompt. */
  public enum Offer {
    /** Queued; the feed emits it. */
    ENQUEUED,
    /** The queue is full: nothing was queued; offer again later. */
    BUSY,
    /** The feed was stopped (or reads existing files only): nothing was queued. */
    CLOSED
  }

  /** The materialized handle of a feed: offer prompts in memory, stop it. Thread-safe. */
  public static final class Control {
    private final BoundedSourceQueue<Prompt> queue;
    private final UniqueKillSwitch killSwitch;

    private Control(BoundedSourceQueue<Prompt> queue, UniqueKillSwitch killSwitch) {
      this.queue = queue;
      this.killSwitch = killSwitch;
    }

    /**
     * Queues a prompt without blocking. Its id defaults to {@code submitted:N}; it is not durable (see
     * {@link SourcedPrompt}): a prompt that must survive a crash goes through a {@link PromptJournal}.
     */
    public Offer offer(Prompt prompt) {
      if (prompt.getText().isBlank()) {
        throw new IllegalArgumentException("an offered prompt needs a non-empty text");
      }
      QueueOfferResult r = queue.offer(prompt);
      if (r.isEnqueued()) {
        return Offer.ENQUEUED;
      }
      return r == QueueOfferResult.dropped() ? Offer.BUSY : Offer.CLOSED;
    }

    /** Prompts offered and not yet emitted. */
    public int queued() {
      return queue.size();
    }

    /** Completes the feed: no more lines are read or offers accepted; prompts already emitted go on downstream. */
    public void stop() {
      queue.complete();
      killSwitch.shutdown();
    }

    /** Fails the feed with {@code cause}. */
    public void abort(Throwable cause) {
      queue.complete();
      killSwitch.abort(cause);
    }
  }

  /**
   * The feed over {@code files}, each resumed after {@code committed.applyAsLong(source.id())} (e.g.
   * {@code store::resumeOffset}), merged with the in-memory queue. When a {@code journal} is given its file is
   * followed too and told which lines the run has taken ({@link PromptJournal#pulled}), which bounds its backlog.
   *
   * @param onSkipped told about each malformed line skipped when {@link Settings#skipBadLines()}
   */
  public static Source<SourcedPrompt, Control> source(List<PromptSource> files, Optional<PromptJournal> journal,
      ToLongFunction<String> committed, Settings settings, Consumer<PromptFileException> onSkipped) {
    Source<SourcedPrompt, NotUsed> all = Source.empty();
    for (PromptSource ps : files) {
      all = all.merge(tail(ps, committed.applyAsLong(ps.id()), settings, onSkipped));
    }
    if (journal.isPresent()) {
      PromptJournal j = journal.get();
      all = all.merge(tail(j.source(), committed.applyAsLong(j.source().id()), settings, onSkipped)
          .map(p -> {
            j.pulled(p.offset());
            return p;
          }));
    }
    Source<SourcedPrompt, BoundedSourceQueue<Prompt>> submitted = Source.<Prompt>queue(settings.queueCapacity())
        .zipWithIndex()
        .map(p -> submitted(p.first(), p.second() + 1));
    return submitted.merge(all)
        .viaMat(KillSwitches.single(), Keep.both())
        .mapMaterializedValue(p -> {
          if (!settings.follow()) {
            p.first().complete(); // reading existing files only: nothing more is coming
          }
          return new Control(p.first(), p.second());
        });
  }

  /**
   * The prompts of one file after line {@code afterLine} (and, when following, those appended later) in file
   * order. A gzip file ({@code .gz}) is read once: it cannot be appended to.
   */
  public static Source<SourcedPrompt, NotUsed> tail(PromptSource ps, long afterLine, Settings settings,
      Consumer<PromptFileException> onSkipped) {
    boolean gz = ps.file().getFileName().toString().endsWith(".gz");
    Source<FileTail.Line, NotUsed> lines = gz
        ? gzipLines(ps.file(), afterLine)
        : Source.fromGraph(new FileTail(ps.file(), afterLine, settings.pollInterval(), settings.follow()))
            .withAttributes(ActorAttributes.dispatcher(IO_DISPATCHER));
    String id = ps.id();
    return lines.mapConcat(line -> {
      try {
        Prompt p = PromptReader.parseLine(ps.file(), line.number(), line.text(), ps.helpful());
        return List.of(new SourcedPrompt(id, line.number(), p, true));
      } catch (PromptFileException e) {
        if (!settings.skipBadLines()) {
          throw e;
        }
        onSkipped.accept(e);
        return List.of();
      }
    });
  }

  private static SourcedPrompt submitted(Prompt p, long seq) {
    Prompt.Builder b = p.toBuilder().setSource(SUBMITTED).setSourceOffset(seq);
    if (p.getId().isEmpty()) {
      b.setId(SUBMITTED + ":" + seq);
    }
    return new SourcedPrompt(SUBMITTED, seq, b.build(), false);
  }

  /** Lines of a gzip file after {@code afterLine}, numbered as {@link PromptReader} numbers them. */
  private static Source<FileTail.Line, NotUsed> gzipLines(Path file, long afterLine) {
    return Source.unfoldResource(() -> GzipLines.open(file), r -> r.next(afterLine), GzipLines::close);
  }

  /** A gzip file's reader and the number of the last line read. */
  private static final class GzipLines {
    private final Path file;
    private final BufferedReader reader;
    private long line;

    private GzipLines(Path file, BufferedReader reader) {
      this.file = file;
      this.reader = reader;
    }

    static GzipLines open(Path file) throws IOException {
      if (!Files.isRegularFile(file)) {
        throw new PromptFileException(file + ": prompt file does not exist");
      }
      return new GzipLines(file, new BufferedReader(new InputStreamReader(
          new GZIPInputStream(Files.newInputStream(file), 1 << 16), StandardCharsets.UTF_8)));
    }

    Optional<FileTail.Line> next(long afterLine) {
      try {
        String text;
        while ((text = reader.readLine()) != null) {
          line++;
          if (line > afterLine && !text.isBlank()) {
            return Optional.of(new FileTail.Line(line, text));
          }
        }
      } catch (IOException e) {
        throw new PromptFileException(file + ":" + (line + 1) + ": cannot read: " + e.getMessage(), e);
      }
      if (line < afterLine) {
        throw new PromptFileException(file + ": has " + line + " lines but the run already consumed " + afterLine
            + " (was the file replaced?)");
      }
      return Optional.empty();
    }

    void close() throws IOException {
      reader.close();
    }
  }
}
