package dev.cai.streams;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.protocol.v1.Comparison;
import dev.cai.runtime.constitution.CritiquePrompts;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Exports comparisons as preference JSONL that other tools read: {@code prompt} (plain-transcript text),
 * {@code chosen} / {@code rejected} (the response with the higher / lower soft label), {@code p_chosen},
 * the principle and model ids.
 */
public final class LabelExport {
  private LabelExport() {}

  /** Writes every comparison to {@code target} (atomically) and returns how many were written. */
  public static long toPreferenceJsonl(RecordStore store, Path target) {
    Gson gson = new GsonBuilder().disableHtmlEscaping().create();
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    long[] n = {0};
    try {
      try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
        store.forEach(RecordKind.COMPARISONS, 0, stored -> {
          try {
            w.write(gson.toJson(preference(stored.record())));
            w.write('\n');
            n[0]++;
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
      }
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return n[0];
    } catch (IOException | UncheckedIOException e) {
      throw new IllegalStateException("Cannot export comparisons to " + target + ": " + e.getMessage(), e);
    }
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
