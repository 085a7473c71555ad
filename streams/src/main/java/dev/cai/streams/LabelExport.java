package dev.cai.streams;

import com.google.gson.JsonObject;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.protocol.v1.Comparison;
import dev.cai.runtime.constitution.CritiquePrompts;
import dev.cai.runtime.train.PreferenceData;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Exports comparisons as preference JSONL that other tools read: {@code prompt} (plain-transcript text),
 * {@code chosen} / {@code rejected} (the response with the higher / lower soft label), {@code p_chosen},
 * the principle and model ids.
 */
public final class LabelExport {
  private LabelExport() {}

  /** Writes every comparison to {@code target} (atomically) and returns how many were written. */
  public static long toPreferenceJsonl(RecordStore store, Path target) {
    return JsonlFiles.export(store, RecordKind.COMPARISONS, target, c -> Optional.of(preference(c)));
  }

  /** A stored comparison as preference-model training data: the chat of its prompt, both replies and p(A). */
  public static PreferenceData.Example example(Comparison c) {
    return new PreferenceData.Example(CritiquePrompts.initial(c.getPrompt().getContext(), c.getPrompt().getText())
        .messages(), c.getResponseA(), c.getResponseB(), c.getPA());
  }

  static JsonObject preference(Comparison c) {
    boolean aWins = c.getPA() >= 0.5;
    JsonObject o = new JsonObject();
    o.addProperty("prompt", CritiquePrompts.initial(c.getPrompt().getContext(), c.getPrompt().getText()).render(true));
    o.addProperty("chosen", aWins ? c.getResponseA() : c.getResponseB());
    o.addProperty("rejected", aWins ? c.getResponseB() : c.getResponseA());
    o.addProperty("p_chosen", aWins ? c.getPA() : 1 - c.getPA());
    o.addProperty("principle_id", c.getPrincipleId());
    o.addProperty("labeler_model", c.getLabelerModelId());
    o.addProperty("policy_model", c.getPolicyModelId());
    o.addProperty("policy_version", c.getPolicyVersion());
    o.addProperty("prompt_id", c.getPrompt().getId());
    return o;
  }
}
