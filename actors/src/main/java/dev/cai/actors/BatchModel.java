package dev.cai.actors;

import java.util.List;

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

  /** Identifies the loaded model in records and error messages. */
  String id();

  @Override
  void close();
}
