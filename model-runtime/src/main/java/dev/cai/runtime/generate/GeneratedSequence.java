package dev.cai.runtime.generate;

/**
 * One generated continuation: its new {@code tokens} (ending with EOS when {@code endedWithEos}), each
 * token's log-probability log_softmax(logits / T) at the sampling temperature (T = 1 for greedy), and the
 * decoded {@code text} (cut before the stop string; null when no decoder was given).
 */
public record GeneratedSequence(int[] tokens, float[] logProbs, boolean endedWithEos, FinishReason finishReason,
    String text) {}
