package dev.cai.actors;

import dev.cai.runtime.constitution.Transcript;

/** Score {@code response} as the assistant's reply to {@code conversation}. */
public record ScoreRequest(Transcript conversation, String response) {}
