package dev.cai.actors;

import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.GenerationSettings;

/**
 * Continue {@code conversation} as the assistant. {@code settings.seed()} seeds this request alone, so
 * its sample does not depend on which requests share its batch.
 */
public record GenerateRequest(Transcript conversation, GenerationSettings settings) {}
