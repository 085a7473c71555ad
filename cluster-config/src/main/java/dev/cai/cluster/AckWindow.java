package dev.cai.cluster;

import java.time.Duration;
import java.util.function.LongConsumer;

/**
 * Flow control of one chunked transfer (policy weights to a replica, a learner checkpoint to a standby): chunks
 * {@code 0 .. count-1} go out in order with at most {@code window} of them sent and not yet acknowledged, so a sender
 * never floods Artery's outbound queue. Not thread-safe: the sending actor owns it.
 */
public final class AckWindow {
  private final long count;
  private final int window;
  private long sent;
  private long acked;
  private long lastAckNanos = System.nanoTime();

  /** A transfer of {@code count} chunks, at most {@code window} (>= 1) of them unacknowledged. */
  public AckWindow(long count, int window) {
    if (count < 0 || window < 1) {
      throw new IllegalArgumentException("an ack window needs count >= 0 and window >= 1, got " + count + " and "
          + window);
    }
    this.count = count;
    this.window = window;
  }

  /**
   * Sends the next chunks, each by its sequence number, while fewer than {@code window} are unacknowledged; a chunk
   * counts as sent once {@code send} returns.
   */
  public void fill(LongConsumer send) {
    while (sent < count && sent - acked < window) {
      send.accept(sent);
      sent++;
    }
  }

  /**
   * The receiver holds every chunk below {@code upTo}: an older acknowledgement changes nothing, one beyond what was
   * sent counts only what was sent. Any acknowledgement restarts the silence clock.
   */
  public void ack(long upTo) {
    acked = Math.max(acked, Math.min(upTo, sent));
    lastAckNanos = System.nanoTime();
  }

  /** Chunks acknowledged. */
  public long acked() {
    return acked;
  }

  /** Whether every chunk is acknowledged. */
  public boolean complete() {
    return acked == count;
  }

  /** Whether no acknowledgement has arrived for longer than {@code timeout} (counted from the start before the first). */
  public boolean silentLongerThan(Duration timeout) {
    return System.nanoTime() - lastAckNanos > timeout.toNanos();
  }
}
