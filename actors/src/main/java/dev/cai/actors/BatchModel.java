package dev.cai.actors;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;

/**
 * A model that answers a batch of requests in one call (one batched forward pass); owned by a
 * {@link ModelActor}, which calls it from a dedicated blocking dispatcher, one batch at a time.
 */
public interface BatchModel<Q, R> extends AutoCloseable {
  /**
   * One outcome per request, in the order of {@code batch}: a request that cannot be served (e.g. a
   * prompt longer than the context) fails alone; an exception fails the whole batch and restarts the model.
   */
  List<Outcome<R>> run(List<Q> batch) throws Exception;

  /** The result of one request of a batch: a value, or the reason this request failed. */
  record Outcome<R>(R value, String error) {
    public static <R> Outcome<R> ok(R value) {
      return new Outcome<>(java.util.Objects.requireNonNull(value), null);
    }

    public static <R> Outcome<R> failed(String error) {
      return new Outcome<>(null, java.util.Objects.requireNonNull(error));
    }

    public boolean isOk() {
      return error == null;
    }
  }

  /**
   * The usual body of {@link #run}: {@code prepare} turns each request into its model input, or fails it with the
   * reason (e.g. too long); {@code serve} runs all accepted inputs as one batch; results come back in request order.
   */
  static <Q, P, R> List<Outcome<R>> serveAccepted(List<Q> batch, Function<Q, Outcome<P>> prepare,
      Function<List<P>, List<R>> serve) {
    List<Outcome<R>> out = new ArrayList<>(Collections.nCopies(batch.size(), (Outcome<R>) null));
    List<Integer> members = new ArrayList<>();
    List<P> inputs = new ArrayList<>();
    for (int i = 0; i < batch.size(); i++) {
      Outcome<P> prepared = prepare.apply(batch.get(i));
      if (prepared.isOk()) {
        members.add(i);
        inputs.add(prepared.value());
      } else {
        out.set(i, Outcome.failed(prepared.error()));
      }
    }
    if (!inputs.isEmpty()) {
      List<R> results = serve.apply(inputs);
      if (results.size() != inputs.size()) {
        throw new IllegalStateException(results.size() + " results for " + inputs.size() + " inputs");
      }
      for (int k = 0; k < results.size(); k++) {
        out.set(members.get(k), Outcome.ok(results.get(k)));
      }
    }
    return out;
  }

  /**
   * The positions of {@code batch}'s requests grouped by {@code key}, groups in order of first appearance (e.g. requests
   * that differ only in their seed, which one batched generate call serves); a request whose key is null is left out.
   */
  static <Q, K> java.util.Map<K, List<Integer>> groupBy(List<Q> batch, Function<Q, K> key) {
    java.util.Map<K, List<Integer>> groups = new java.util.LinkedHashMap<>();
    for (int i = 0; i < batch.size(); i++) {
      K k = key.apply(batch.get(i));
      if (k != null) {
        groups.computeIfAbsent(k, x -> new ArrayList<>()).add(i);
      }
    }
    return groups;
  }

  /** Identifies the loaded model in records and error messages. */
  String id();

  @Override
  void close();
}
