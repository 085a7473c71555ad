package dev.cai.streams;

import dev.cai.actors.Completion;
import dev.cai.runtime.constitution.Transcript;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/** Test double for a model actor: answers asynchronously, counts concurrency, can fail or go blank. */
final class FakeResponder implements Responder, AutoCloseable {
  final AtomicInteger inFlight = new AtomicInteger();
  final AtomicInteger maxInFlight = new AtomicInteger();
  final AtomicInteger calls = new AtomicInteger();
  private final ExecutorService pool = Executors.newFixedThreadPool(4);
  private final Function<String, String> answer;
  private final long delayMillis;

  /** {@code answer} maps the last human turn to the reply; throw to fail, return "" for an empty reply. */
  FakeResponder(Function<String, String> answer, long delayMillis) {
    this.answer = answer;
    this.delayMillis = delayMillis;
  }

  @Override
  public CompletionStage<Completion> respond(Transcript conversation, long seed) {
    calls.incrementAndGet();
    int now = inFlight.incrementAndGet();
    maxInFlight.accumulateAndGet(now, Math::max);
    String last = conversation.turns().get(conversation.turns().size() - 1).text();
    return CompletableFuture.supplyAsync(() -> {
      try {
        if (delayMillis > 0) {
          Thread.sleep(delayMillis);
        }
        String text = answer.apply(last);
        return new Completion(text + (text.isEmpty() ? "" : " #" + Long.toHexString(seed).substring(0, 4)),
            conversation.render(false).length() / 4, 7, true);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      } finally {
        inFlight.decrementAndGet();
      }
    }, pool);
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
