package dev.cai.streams;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The most recent samples of the running graphs — SL examples (prompt, response, critique, revision), labeled
 * comparisons (prompt, A, B, p(A)) and PPO rollouts (prompt, response, score) — kept in a bounded window for live
 * views such as the dashboard. Publishing is cheap (one synchronized append); nothing here is persisted.
 */
public final class SampleFeed {
  /** Kind of a sample: an SL-CAI example. */
  public static final String SL = "sl";
  /** Kind of a sample: an AI-feedback comparison. */
  public static final String LABEL = "label";
  /** Kind of a sample: a PPO rollout. */
  public static final String RL = "rl";

  private static final SampleFeed GLOBAL = new SampleFeed(50);

  /** One sample: a unique increasing {@code seq}, its kind, when it was published and its fields (strings or numbers). */
  public record Sample(long seq, String kind, long timeMs, Map<String, Object> fields) {}

  private final int capacity;
  private final ArrayDeque<Sample> recent = new ArrayDeque<>();
  private long nextSeq = 1;

  /** A feed keeping the last {@code capacity} samples. */
  public SampleFeed(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("a sample feed needs capacity >= 1, got " + capacity);
    }
    this.capacity = capacity;
  }

  /** The feed the graphs of this JVM publish to. */
  public static SampleFeed global() {
    return GLOBAL;
  }

  /** Publishes a sample of {@code kind} with {@code fields} (kept in their order) and returns it. */
  public synchronized Sample publish(String kind, Map<String, Object> fields) {
    Sample s = new Sample(nextSeq++, kind, System.currentTimeMillis(),
        Collections.unmodifiableMap(new LinkedHashMap<>(fields)));
    recent.addLast(s);
    while (recent.size() > capacity) {
      recent.removeFirst();
    }
    return s;
  }

  /** The samples kept with {@code seq > afterSeq}, oldest first (0 = all kept). */
  public synchronized List<Sample> since(long afterSeq) {
    List<Sample> out = new ArrayList<>();
    for (Sample s : recent) {
      if (s.seq() > afterSeq) {
        out.add(s);
      }
    }
    return out;
  }
}
