package dev.cai.runtime;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** What went wrong behind the wrappers asynchronous code adds, for logs, replies and records. */
public final class Failures {
  private Failures() {}

  /** {@code t} without its {@link CompletionException} and {@link ExecutionException} wrappers. */
  public static Throwable cause(Throwable t) {
    Throwable u = t;
    while ((u instanceof CompletionException || u instanceof ExecutionException) && u.getCause() != null) {
      u = u.getCause();
    }
    return u;
  }

  /** The message of {@link #cause}, or its class's simple name when it has none. */
  public static String describe(Throwable t) {
    Throwable u = cause(t);
    return u.getMessage() == null ? u.getClass().getSimpleName() : u.getMessage();
  }
}
