package dev.cai.cluster.weights;

/** A manifest or chunk of a shipped policy version failed validation; the message names the version, peer and tensor. */
public final class WeightsRejectedException extends RuntimeException {
  public WeightsRejectedException(String message) {
    super(message);
  }
}
