package dev.cai.actors;

import dev.cai.runtime.weights.ModelWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

/**
 * The policy versions the learner has published, shared by the learner, the policy actors and the rollout graph
 * of one node: the latest published weights (a policy actor that restarts reloads them instead of silently going
 * back to its base weights) and, per version, a future that completes once every policy actor serves it (the
 * rollout graph waits on it before asking for that version, so no ask waits out an update).
 *
 * <p>Thread-safe. Versions only go up.
 */
public final class PublishedPolicy {
  /** Weights of one policy version. */
  public record Versioned(long version, ModelWeights weights) {}

  private final long baseVersion;
  private final List<Consumer<Versioned>> listeners = new ArrayList<>();
  private Versioned latest;
  private long served;
  private final Map<Long, CompletableFuture<Long>> waiting = new TreeMap<>();

  /**
   * Nothing published yet: the policy actors serve the weights their loader reads as {@code baseVersion} (0 for
   * the SL-CAI checkpoint), which counts as served.
   */
  public PublishedPolicy(long baseVersion) {
    if (baseVersion < 0) {
      throw new IllegalArgumentException("base version must be >= 0, got " + baseVersion);
    }
    this.baseVersion = baseVersion;
    this.served = baseVersion;
  }

  /** The version of the weights a policy loader reads. */
  public long baseVersion() {
    return baseVersion;
  }

  /** Records {@code weights} as the latest version, before they are sent to the policy actors. */
  public synchronized void publish(long version, ModelWeights weights) {
    long current = latest == null ? baseVersion : latest.version();
    if (version < current) {
      throw new IllegalStateException("policy version would go back from " + current + " to " + version);
    }
    latest = new Versioned(version, weights);
    listeners.forEach(l -> l.accept(latest));
  }

  /**
   * Calls {@code listener} with every version published from now on (e.g. to ship it to the policy actors of other
   * nodes); it runs on the publishing thread and must not block.
   */
  public synchronized void onPublish(Consumer<Versioned> listener) {
    listeners.add(listener);
  }

  /** The latest published weights; empty while the policy actors serve their base weights. */
  public synchronized Optional<Versioned> latest() {
    return Optional.ofNullable(latest);
  }

  /** Every policy actor now serves {@code version}: completes the futures of versions up to it. */
  public void markServed(long version) {
    List<CompletableFuture<Long>> done = new ArrayList<>();
    synchronized (this) {
      served = Math.max(served, version);
      var it = waiting.entrySet().iterator();
      while (it.hasNext()) {
        var e = it.next();
        if (e.getKey() <= served) {
          done.add(e.getValue());
          it.remove();
        }
      }
    }
    done.forEach(f -> f.complete(version)); // outside the lock: callbacks may run here
  }

  /** The highest version every policy actor serves. */
  public synchronized long served() {
    return served;
  }

  /** Completes (with the served version) once every policy actor serves {@code version} or a later one. */
  public CompletionStage<Long> whenServed(long version) {
    synchronized (this) {
      if (version <= served) {
        return CompletableFuture.completedFuture(served);
      }
      return waiting.computeIfAbsent(version, v -> new CompletableFuture<>());
    }
  }

  /** Fails every waiting future, e.g. when the learner stops. */
  public void failWaiting(Throwable cause) {
    List<CompletableFuture<Long>> all;
    synchronized (this) {
      all = new ArrayList<>(waiting.values());
      waiting.clear();
    }
    all.forEach(f -> f.completeExceptionally(cause));
  }
}
