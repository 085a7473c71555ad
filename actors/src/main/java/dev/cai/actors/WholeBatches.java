package dev.cai.actors;

import java.util.ArrayList;
import java.util.List;

/**
 * Serves lists of requests, each list as one batch of the wrapped model, whatever else a {@link ModelActor} queued
 * beside it: a list's results then do not depend on timing (which requests happened to share a batch changes padding
 * and kernel shapes, hence the last bits of floating-point results). PPO's rollout batches use it so that a run and
 * its resumed twin compute bit-identical inputs.
 */
public final class WholeBatches<Q, R> implements BatchModel<List<Q>, List<BatchModel.Outcome<R>>> {
  private final BatchModel<Q, R> inner;

  /** Takes ownership of {@code inner}. */
  public WholeBatches(BatchModel<Q, R> inner) {
    this.inner = inner;
  }

  @Override
  public List<Outcome<List<Outcome<R>>>> run(List<List<Q>> batch) throws Exception {
    List<Outcome<List<Outcome<R>>>> out = new ArrayList<>(batch.size());
    for (List<Q> group : batch) {
      List<Outcome<R>> results = group.isEmpty() ? List.of() : inner.run(group);
      if (results.size() != group.size()) {
        throw new IllegalStateException(inner.id() + " returned " + results.size() + " results for " + group.size()
            + " requests");
      }
      out.add(Outcome.ok(results));
    }
    return out;
  }

  @Override
  public String id() {
    return inner.id();
  }

  @Override
  public void close() {
    inner.close();
  }
}
