package dev.cai.actors;

/** Log-probabilities of the answer options " (A)" and " (B)" after a labeling context. */
public record OptionScores(double logProbA, double logProbB, int contextTokens) {}
