package dev.cai.actors;

/** Per-token log-probabilities of {@code continuation} after {@code context} (token ids; the context non-empty). */
public record LogProbsRequest(int[] context, int[] continuation) {}
