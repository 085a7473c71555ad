package dev.cai.actors;

/** Score the continuations {@code optionA} and {@code optionB} after {@code context} (text ending in "The answer is:"). */
public record ScoreOptionsRequest(String context, String optionA, String optionB) {}
