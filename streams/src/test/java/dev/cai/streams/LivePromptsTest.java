package dev.cai.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.protocol.v1.Prompt;
import dev.cai.streams.LivePrompts.Control;
import dev.cai.streams.LivePrompts.Offer;
import dev.cai.streams.PromptReader.PromptFileException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(TestKitJUnit5Extension.class)
class LivePromptsTest {
  @JUnit5TestKit public ActorTestKit testKit = new JUnit5TestKitBuilder().build();
  @TempDir Path dir;

  private static final Duration POLL = Duration.ofMillis(20);
  /** Long enough for many polls: whatever has not arrived by then is not coming. */
  private static final long QUIET_MS = 300;

  private static LivePrompts.Settings follow(boolean skipBadLines, int capacity) {
    return new LivePrompts.Settings(POLL, true, skipBadLines, capacity);
  }

  /** A running feed whose prompts land in {@code out}. */
  private record Running(Control control, CompletionStage<Done> done, LinkedBlockingQueue<SourcedPrompt> out) {
    SourcedPrompt next() throws InterruptedException {
      SourcedPrompt p = out.poll(10, TimeUnit.SECONDS);
      if (p == null) {
        throw new AssertionError("no prompt within 10 s");
      }
      return p;
    }

    List<String> next(int n) throws InterruptedException {
      List<String> got = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        SourcedPrompt p = next();
        got.add(p.prompt().getText() + "@" + p.offset());
      }
      return got;
    }

    void assertQuiet() throws InterruptedException {
      assertNull(out.poll(QUIET_MS, TimeUnit.MILLISECONDS), "no further prompt");
    }
  }

  private Running run(List<PromptSource> files, Optional<PromptJournal> journal, Map<String, Long> committed,
      LivePrompts.Settings s, List<PromptFileException> skipped) {
    LinkedBlockingQueue<SourcedPrompt> out = new LinkedBlockingQueue<>();
    Pair<Control, CompletionStage<Done>> m = LivePrompts.source(files, journal, id -> committed.getOrDefault(id, 0L), s,
            skipped::add)
        .toMat(Sink.foreach(out::add), Keep.both())
        .run(testKit.system());
    return new Running(m.first(), m.second(), out);
  }

  private static String line(String text) {
    return "{\"prompt\": \"" + text + "\"}\n";
  }

  private static void append(Path f, String text) throws Exception {
    Files.writeString(f, text, StandardOpenOption.APPEND);
  }

  @Test
  void shouldEmitExistingLinesThenLinesAppendedLaterInOrderExactlyOnce() throws Exception {
    Path f = Files.writeString(dir.resolve("p.jsonl"), line("q1") + "\n" + line("q2"));
    PromptSource ps = new PromptSource(f, false);
    Running r = run(List.of(ps), Optional.empty(), Map.of(), follow(false, 4), new ArrayList<>());
    assertEquals(List.of("q1@1", "q2@3"), r.next(2), "the blank line 2 is counted, not emitted");
    r.assertQuiet();
    append(f, line("q3") + line("q4"));
    assertEquals(List.of("q3@4", "q4@5"), r.next(2));
    append(f, line("q5"));
    SourcedPrompt p5 = r.next();
    assertEquals(ps.id(), p5.sourceId());
    assertEquals(6, p5.offset());
    assertEquals(6, p5.prompt().getSourceOffset());
    assertTrue(p5.durable());
    r.assertQuiet();
    assertFalse(r.done().toCompletableFuture().isDone(), "a followed feed does not complete on its own");
    r.control().stop();
    r.done().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(Offer.CLOSED, r.control().offer(Prompt.newBuilder().setText("late").build()));
  }

  @Test
  void shouldNotReadAPartialLineUntilItsNewlineArrives() throws Exception {
    Path f = Files.writeString(dir.resolve("p.jsonl"), line("first"));
    Running r = run(List.of(new PromptSource(f, false)), Optional.empty(), Map.of(), follow(false, 4), new ArrayList<>());
    assertEquals(List.of("first@1"), r.next(1));
    append(f, "{\"prompt\": \"hal");
    r.assertQuiet();
    append(f, "f a line\"}");
    r.assertQuiet();
    append(f, "\n" + line("next"));
    assertEquals(List.of("half a line@2", "next@3"), r.next(2));
    r.control().stop();
  }

  @Test
  void shouldResumeAfterTheCommittedLineAndFollowFromThere() throws Exception {
    Path f = Files.writeString(dir.resolve("p.jsonl"), line("q1") + line("q2") + line("q3"));
    PromptSource ps = new PromptSource(f, true);
    Running r = run(List.of(ps), Optional.empty(), Map.of(ps.id(), 2L), follow(false, 4), new ArrayList<>());
    SourcedPrompt p = r.next();
    assertEquals("q3@3", p.prompt().getText() + "@" + p.offset());
    assertTrue(p.prompt().getHelpful(), "the source's helpful flag");
    append(f, line("q4"));
    assertEquals(List.of("q4@4"), r.next(1));
    r.control().stop();
  }

  @Test
  void shouldFailWithFileAndLineOfAMalformedLineOrSkipItWhenConfigured() throws Exception {
    Path f = Files.writeString(dir.resolve("bad.jsonl"), line("ok") + "{\"prompt\": 3}\n" + line("after"));
    Running strict = run(List.of(new PromptSource(f, false)), Optional.empty(), Map.of(), follow(false, 4),
        new ArrayList<>());
    assertEquals(List.of("ok@1"), strict.next(1));
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> strict.done().toCompletableFuture().get(10, TimeUnit.SECONDS));
    assertInstanceOf(PromptFileException.class, e.getCause());
    assertEquals(f + ":2: \"prompt\" must be a string", e.getCause().getMessage());

    List<PromptFileException> skipped = new CopyOnWriteArrayList<>();
    Running lenient = run(List.of(new PromptSource(f, false)), Optional.empty(), Map.of(), follow(true, 4), skipped);
    assertEquals(List.of("ok@1", "after@3"), lenient.next(2));
    append(f, "{oops\n" + line("later"));
    assertEquals(List.of("later@5"), lenient.next(1));
    assertEquals(List.of(f + ":2: \"prompt\" must be a string", f + ":4"),
        skipped.stream().map(x -> x.getMessage().startsWith(f + ":4: not valid JSON") ? f + ":4" : x.getMessage()).toList());
    lenient.control().stop();
  }

  @Test
  void shouldRefuseOffersAsBusyWhenTheQueueIsFullAndServeTheQueuedOnesOnce() throws Exception {
    int capacity = 3;
    CompletableFuture<Void> gate = new CompletableFuture<>();
    LinkedBlockingQueue<SourcedPrompt> out = new LinkedBlockingQueue<>();
    Pair<Control, CompletionStage<Done>> m = LivePrompts.source(List.of(), Optional.empty(), id -> 0L,
            follow(false, capacity), x -> { })
        .mapAsync(1, p -> gate.thenApply(v -> p)) // the consumer is stuck until the gate opens
        .toMat(Sink.foreach(out::add), Keep.both())
        .run(testKit.system());
    Control c = m.first();
    List<String> accepted = new ArrayList<>();
    Offer last = Offer.ENQUEUED;
    for (int i = 1; i <= 20 && last == Offer.ENQUEUED; i++) {
      last = c.offer(Prompt.newBuilder().setText("s" + i).build());
      if (last == Offer.ENQUEUED) {
        accepted.add("s" + i);
      }
      Thread.sleep(20); // lets the stream take what it has demand for
    }
    assertEquals(Offer.BUSY, last, "a full queue refuses instead of growing");
    assertTrue(accepted.size() >= capacity && accepted.size() <= capacity + 3,
        "the queue's capacity plus the few elements in flight: " + accepted);
    assertEquals(capacity, c.queued());
    gate.complete(null);
    List<String> got = new ArrayList<>();
    for (int i = 0; i < accepted.size(); i++) {
      SourcedPrompt p = out.poll(10, TimeUnit.SECONDS);
      assertFalse(p.durable(), "in-memory submissions are not durable");
      assertEquals(LivePrompts.SUBMITTED, p.sourceId());
      assertEquals(i + 1, p.offset());
      assertEquals("submitted:" + (i + 1), p.prompt().getId());
      got.add(p.prompt().getText());
    }
    assertEquals(accepted, got);
    assertEquals(Offer.ENQUEUED, c.offer(Prompt.newBuilder().setText("again").build()), "room again once drained");
    assertEquals("again", out.poll(10, TimeUnit.SECONDS).prompt().getText());
    c.stop();
    m.second().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void shouldReadExistingLinesOnlyAndCompleteWhenNotFollowing() throws Exception {
    Path a = Files.writeString(dir.resolve("a.jsonl"), line("a1") + "{\"prompt\": \"a2\"}"); // no final newline
    Path b = dir.resolve("b.jsonl.gz");
    try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(b))) {
      o.write((line("b1") + line("b2") + line("b3")).getBytes(StandardCharsets.UTF_8));
    }
    PromptSource pb = new PromptSource(b, true);
    List<SourcedPrompt> all = LivePrompts.source(List.of(new PromptSource(a, false), pb), Optional.empty(),
            id -> id.equals(pb.id()) ? 1L : 0L, new LivePrompts.Settings(POLL, false, false, 2), x -> { })
        .toMat(Sink.seq(), Keep.right())
        .run(testKit.system())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    List<String> texts = all.stream().map(p -> p.prompt().getText() + "@" + p.offset()).sorted().toList();
    assertEquals(List.of("a1@1", "a2@2", "b2@2", "b3@3"), texts, "a complete file's last line counts");
  }

  @Test
  void shouldFailClearlyWhenAFollowedFileIsTruncatedOrShorterThanItsCommittedOffset() throws Exception {
    Path f = Files.writeString(dir.resolve("p.jsonl"), line("q1") + line("q2"));
    PromptSource ps = new PromptSource(f, false);
    Running shorter = run(List.of(ps), Optional.empty(), Map.of(ps.id(), 5L), follow(false, 2), new ArrayList<>());
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> shorter.done().toCompletableFuture().get(10, TimeUnit.SECONDS));
    assertEquals(f + ": has 2 complete lines but the run already consumed 5 (was the file truncated or replaced?)",
        e.getCause().getMessage());

    Running r = run(List.of(ps), Optional.empty(), Map.of(), follow(false, 2), new ArrayList<>());
    r.next(2);
    Files.writeString(f, line("x"), StandardOpenOption.TRUNCATE_EXISTING);
    e = assertThrows(ExecutionException.class, () -> r.done().toCompletableFuture().get(10, TimeUnit.SECONDS));
    assertEquals(f + ": was truncated while being followed; only appending to a followed prompt file is supported",
        e.getCause().getMessage());
  }

  @Test
  void shouldFeedJournalAppendsWithTheirOffsetsAndBoundTheBacklog() throws Exception {
    try (PromptJournal journal = PromptJournal.inRun(dir, 3)) {
      PromptJournal.Result first = journal.append(List.of(PromptJournal.Submission.of("j1"),
          new PromptJournal.Submission("j2", Optional.of("mine"), Optional.of(true))));
      assertEquals(new PromptJournal.Appended(List.of(new PromptJournal.Accepted("live-prompts.jsonl:1", 1),
          new PromptJournal.Accepted("mine", 2))), first);
      assertEquals(2, journal.pending());
      assertEquals(new PromptJournal.Busy(2, 3),
          journal.append(List.of(PromptJournal.Submission.of("x"), PromptJournal.Submission.of("y"))),
          "2 waiting + 2 more would exceed 3");

      Running r = run(List.of(), Optional.of(journal), Map.of(), follow(false, 2), new ArrayList<>());
      SourcedPrompt p1 = r.next();
      SourcedPrompt p2 = r.next();
      assertEquals(journal.source().id(), p1.sourceId());
      assertEquals(List.of("j1@1", "j2@2"), List.of(p1.prompt().getText() + "@" + p1.offset(),
          p2.prompt().getText() + "@" + p2.offset()));
      assertFalse(p1.prompt().getHelpful());
      assertTrue(p2.prompt().getHelpful(), "the submission's helpful flag");
      assertEquals("mine", p2.prompt().getId());
      assertEquals(0, journal.pending(), "the run took both");

      assertInstanceOf(PromptJournal.Appended.class, journal.append(List.of(PromptJournal.Submission.of("j3\nline two"))));
      SourcedPrompt p3 = r.next();
      assertEquals("j3\nline two", p3.prompt().getText(), "a line break inside a prompt stays inside its JSON line");
      assertEquals(3, p3.offset());
      r.control().stop();
    }
  }

  @Test
  void shouldRejectAnInvalidSubmissionWholeAndNameIt() throws Exception {
    try (PromptJournal journal = PromptJournal.inRun(dir, 10)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> journal.append(List.of(
          PromptJournal.Submission.of("fine"), PromptJournal.Submission.of("   "))));
      assertEquals("prompt 2: the prompt is empty", e.getMessage());
      assertEquals(0, journal.lines(), "all or nothing");
      assertEquals(0, Files.size(journal.file()));
    }
  }

  @Test
  void shouldCutAPartialLineLeftByACrashAndKeepOffsetsRight() throws Exception {
    Path f = dir.resolve(PromptJournal.FILE_NAME);
    String cut = "{\"prompt\": \"cut of";
    Files.writeString(f, line("a") + line("b") + cut);
    try (PromptJournal journal = PromptJournal.open(f, 10)) {
      assertEquals(cut.length(), journal.truncatedBytes());
      assertEquals(2, journal.lines());
      assertEquals(0, journal.pending(), "lines already there are not this process's backlog");
      PromptJournal.Appended a = (PromptJournal.Appended) journal.append(List.of(PromptJournal.Submission.of("c")));
      assertEquals(3, a.prompts().get(0).offset());
      assertThrows(IllegalStateException.class, () -> PromptJournal.open(f, 10), "one writer at a time");
    }
    assertEquals(List.of("a", "b", "c"), PromptReader.readAll(f, false).stream().map(Prompt::getText).toList());
  }

  @Test
  void shouldFailOnALineLongerThanTheLimitInsteadOfBufferingIt() throws Exception {
    Path f = Files.writeString(dir.resolve("long.jsonl"), line("short") + "{\"prompt\": \"" + "x".repeat(100));
    CompletionStage<List<FileTail.Line>> lines = org.apache.pekko.stream.javadsl.Source.fromGraph(
            new FileTail(f, 0, POLL, true, 64))
        .runWith(Sink.seq(), testKit.system());
    ExecutionException e = assertThrows(ExecutionException.class, () -> lines.toCompletableFuture().get(10, TimeUnit.SECONDS));
    assertEquals(f + ":2: line longer than 64 bytes", e.getCause().getMessage());
  }
}
