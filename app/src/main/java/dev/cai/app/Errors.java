package dev.cai.app;

/** Turns an exception chain into the one-line message a user sees. */
final class Errors {
  private Errors() {}

  static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder(String.valueOf(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
    Throwable c = e.getCause();
    while (c != null && c != e) {
      if (c.getMessage() != null && !sb.toString().contains(c.getMessage())) {
        sb.append(" (caused by: ").append(c.getMessage()).append(')');
      }
      e = c;
      c = c.getCause();
    }
    return sb.toString();
  }
}
