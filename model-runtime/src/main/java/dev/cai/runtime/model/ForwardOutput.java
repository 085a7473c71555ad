package dev.cai.runtime.model;

import ai.djl.ndarray.NDArray;

/**
 * Result of a full forward pass: {@code logits} [B, T, vocab] and final (normed) hidden states [B, T, hidden],
 * attached to the manager of the input ids.
 */
public record ForwardOutput(NDArray logits, NDArray hidden) {}
