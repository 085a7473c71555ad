package dev.cai.streams.remote;

/** A remote model call that failed for good (after any retries); the message names the model, endpoint and cause. */
public final class RemoteModelException extends RuntimeException {
  RemoteModelException(String message) {
    super(message);
  }

  RemoteModelException(String message, Throwable cause) {
    super(message, cause);
  }
}
