package dev.cai.persistence;

/** A store could not be opened, read or written; the message names the store location and the problem. */
public final class StoreException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String location;

  public StoreException(String location, String problem) {
    this(location, problem, null);
  }

  public StoreException(String location, String problem, Throwable cause) {
    super("Store " + location + ": " + problem, cause);
    this.location = location;
  }

  /** The directory (or "memory") of the store that failed. */
  public String location() {
    return location;
  }
}
