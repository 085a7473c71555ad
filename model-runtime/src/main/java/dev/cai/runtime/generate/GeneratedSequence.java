package dev.cai.runtime.generate;

/**
 * One generated continuation: its new {@code tokens} (ending with EOS when {@code endedWithEos}; with a stop
 * string, up to and including the token that completed it), each token's log-probability
 * log_softmax(logits / T) over the full vocabulary at the sampling temperature (T = 1 for greedy, before any
 * top-k/top-p filtering, as PPO needs), and the decoded {@code text} (cut before the stop string; null when no
 * decoder was given).
 */
public record GeneratedSequence(int[] tokens, float[] logProbs, boolean endedWithEos, FinishReason finishReason,
    String text) {}
