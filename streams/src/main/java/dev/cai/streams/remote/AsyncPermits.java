package dev.cai.streams.remote;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/**
 * A semaphore for asynchronous tasks: at most {@code permits} tasks run at once, later ones wait in arrival order
 * and start when a running one completes. Unlike {@link java.util.concurrent.Semaphore#acquire()} it never blocks
 * the caller, which is a stream stage on a dispatcher thread. The wait queue holds at most what the callers have in
 * flight (the graphs' bounded parallelism).
 */
final class AsyncPermits {
  private final int permits;
  private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
  private int running;

  AsyncPermits(int permits) {
    if (permits < 1) {
      throw new IllegalArgumentException("permits must be >= 1, got " + permits);
    }
    this.permits = permits;
  }

  /** Runs {@code task} once a permit is free; the permit is returned when its future completes, however. */
  <T> CompletableFuture<T> run(Supplier<CompletableFuture<T>> task) {
    CompletableFuture<T> result = new CompletableFuture<>();
    Runnable start = () -> {
      CompletableFuture<T> f;
      try {
        f = task.get();
      } catch (RuntimeException e) {
        f = CompletableFuture.failedFuture(e);
      }
      f.whenComplete((v, err) -> {
        release();
        if (err != null) {
          result.completeExceptionally(err instanceof CompletionException && err.getCause() != null ? err.getCause() : err);
        } else {
          result.complete(v);
        }
      });
    };
    boolean now;
    synchronized (this) {
      now = running < permits;
      if (now) {
        running++;
      } else {
        waiting.add(start);
      }
    }
    if (now) {
      start.run();
    }
    return result;
  }

  /** Hands the permit to the next waiting task, or frees it. */
  private void release() {
    Runnable next;
    synchronized (this) {
      next = waiting.poll();
      if (next == null) {
        running--;
      }
    }
    if (next != null) {
      next.run();
    }
  }

  /** Tasks running now (for tests and metrics). */
  synchronized int running() {
    return running;
  }
}
