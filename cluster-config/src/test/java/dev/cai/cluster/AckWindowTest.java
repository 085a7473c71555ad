package dev.cai.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AckWindowTest {
  private static List<Long> fill(AckWindow w) {
    List<Long> sent = new ArrayList<>();
    w.fill(sent::add);
    return sent;
  }

  @Test
  void shouldKeepAtMostWindowChunksUnacknowledgedAndSendEachOnce() {
    AckWindow w = new AckWindow(7, 3);

    assertEquals(List.of(0L, 1L, 2L), fill(w));
    assertEquals(List.of(), fill(w), "the window is full");
    w.ack(2);
    assertEquals(List.of(3L, 4L), fill(w));
    w.ack(1); // an older acknowledgement changes nothing
    assertEquals(List.of(), fill(w));
    w.ack(5);
    assertEquals(List.of(5L, 6L), fill(w));
    assertFalse(w.complete());
    w.ack(7);
    assertTrue(w.complete());
    assertEquals(List.of(), fill(w));
  }

  @Test
  void shouldCountOnlyWhatWasSentWhenAnAcknowledgementRunsAhead() {
    AckWindow w = new AckWindow(10, 2);
    fill(w);

    w.ack(9); // a confused or hostile receiver

    assertEquals(2, w.acked());
    assertFalse(w.complete());
    assertEquals(List.of(2L, 3L), fill(w), "still at most 2 in flight");
  }

  @Test
  void shouldBeCompleteAtOnceWithNoChunksAndTellSilence() throws InterruptedException {
    assertTrue(new AckWindow(0, 1).complete());
    AckWindow w = new AckWindow(3, 1);
    Thread.sleep(20);
    assertTrue(w.silentLongerThan(Duration.ofMillis(10)));
    w.ack(0);
    assertFalse(w.silentLongerThan(Duration.ofSeconds(10)));
  }
}
