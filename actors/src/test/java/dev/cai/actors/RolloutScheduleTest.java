package dev.cai.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The lock-step schedule, played out as the learner and the rollout graph would. */
class RolloutScheduleTest {
  /** Events of a run of {@code target} updates: "gen k@v", "pub v", "commit v", "update v". */
  private static List<String> play(RolloutSchedule s) {
    List<String> events = new ArrayList<>();
    long served = 0;
    long version = 0;
    for (long b = 0; ; b++) {
      events.add("gen " + b + "@" + s.generatingVersion(b));
      assertTrue(s.generatingVersion(b) <= served, "batch " + b + " needs a version that is already served");
      assertEquals(version, b, "batch b is learned by version b");
      if (s.publishesOnReceipt(b, served)) {
        served = b;
        events.add("pub " + b);
      }
      if (s.commitsOnReceipt(b)) {
        events.add("commit " + b);
      }
      if (s.finishedOnReceipt(b)) {
        return events;
      }
      version++;
      events.add("update " + version);
      if (s.publishesAfterUpdate(version)) {
        served = version;
        events.add("pub " + version);
      }
      if (s.commitsAfterUpdate(version)) {
        events.add("commit " + version);
      }
      if (s.finishedAfterUpdate(version)) {
        return events;
      }
    }
  }

  @Test
  void shouldGenerateBatchKWithVersionKMinusLagAndPublishBeforeItIsNeeded() {
    assertEquals(List.of("gen 0@0", "update 1", "pub 1", "gen 1@1", "update 2", "pub 2", "commit 2", "gen 2@2",
        "update 3", "commit 3"), play(new RolloutSchedule(0, 2, 3)));
    assertEquals(List.of("gen 0@0", "update 1", "gen 1@0", "pub 1", "update 2", "gen 2@1", "pub 2", "commit 2",
        "update 3", "gen 3@2", "commit 3"), play(new RolloutSchedule(1, 2, 3)));
  }

  @Test
  void shouldCommitALagOneLearnerOnlyWhenTheBatchItsNextBatchNeedsIsStored() {
    RolloutSchedule s = new RolloutSchedule(1, 1, 10);
    assertFalse(s.commitsOnReceipt(0), "nothing learned yet");
    assertTrue(s.commitsOnReceipt(1));
    assertFalse(s.commitsAfterUpdate(1), "version 0 would be gone: commit on receipt of batch 1 instead");
    assertFalse(s.commitsAtEndOfInput());
    assertTrue(new RolloutSchedule(0, 1, 10).commitsAtEndOfInput());
  }

  @Test
  void shouldRefuseAnyLagButZeroOrOne() {
    assertThrows(IllegalArgumentException.class, () -> new RolloutSchedule(2, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> new RolloutSchedule(0, 0, 1));
  }
}
