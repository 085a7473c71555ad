package dev.cai.actors;

import java.util.List;

/**
 * A model that answers a batch of requests in one call (one batched forward pass); owned by a
 * {@link ModelActor}, which calls it from a dedicated blocking dispatcher, one batch at a time.
 */
public interface BatchModel<Q, R> extends AutoCloseable {
  /** Results in the order of {@code batch}; any exception fails the whole batch. */
  List<R> run(List<Q> batch) throws Exception;

  /** Identifies the loaded model in records and error messages. */
  String id();

  @Override
  void close();
}
