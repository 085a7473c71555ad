package dev.cai.runtime.constitution;

/** A constitution file that cannot be used; the message names the file and the problem. */
public final class ConstitutionException extends RuntimeException {
  public ConstitutionException(String message) {
    super(message);
  }

  public ConstitutionException(String message, Throwable cause) {
    super(message, cause);
  }
}
