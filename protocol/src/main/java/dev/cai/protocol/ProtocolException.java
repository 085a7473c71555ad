package dev.cai.protocol;

/** Thrown when bytes cannot be decoded as the expected protocol message; the message names the type. */
public final class ProtocolException extends RuntimeException {
  private final String messageType;

  public ProtocolException(String messageType, String detail, Throwable cause) {
    super("Malformed " + messageType + ": " + detail, cause);
    this.messageType = messageType;
  }

  /** Fully qualified Protobuf name of the message that failed to decode, e.g. {@code cai.v1.Rollout}. */
  public String messageType() {
    return messageType;
  }
}
