package dev.cai.runtime.generate;

import java.util.List;

/** Sequences of one generation call, in prompt order, with the time spent in prefill and in decode steps. */
public record GenerationResult(List<GeneratedSequence> sequences, long prefillNanos, long decodeNanos,
    int decodeSteps, int promptTokens) {}
