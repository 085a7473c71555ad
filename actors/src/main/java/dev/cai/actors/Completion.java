package dev.cai.actors;

/** An assistant reply produced by a model actor, with its token counts and how it ended. */
public record Completion(String text, int promptTokens, int completionTokens, boolean endedWithEos) {}
