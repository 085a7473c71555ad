package dev.cai.streams;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.protocol.v1.SlExample;
import dev.cai.runtime.constitution.CritiquePrompts;
import dev.cai.runtime.tokenizer.ChatMessage;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Exports SL examples as chat-format JSONL for SFT tools ({@code {"messages": [{"role", "content"}, ...]}}):
 * the conversation and its final revision, plus the prompt id, helpful flag, rounds and constitution hash.
 */
public final class SlExport {
  private SlExport() {}

  /** Writes the OK examples to {@code target} (atomically) and returns how many were written. */
  public static long toChatJsonl(RecordStore store, Path target) {
    return JsonlFiles.export(store, RecordKind.SL_EXAMPLES, target,
        e -> e.getStatus() == SlExample.Status.OK ? Optional.of(chatRecord(e)) : Optional.empty());
  }

  /** One SFT record: the prompt conversation and the final revision as the assistant turn. */
  static JsonObject chatRecord(SlExample e) {
    JsonArray messages = new JsonArray();
    for (ChatMessage m : CritiquePrompts.initial(e.getPrompt().getContext(), e.getPrompt().getText()).messages()) {
      messages.add(message(m.role(), m.content()));
    }
    messages.add(message(ChatMessage.ASSISTANT, e.getFinalRevision()));
    JsonObject o = new JsonObject();
    o.add("messages", messages);
    o.addProperty("prompt_id", e.getPrompt().getId());
    o.addProperty("helpful", e.getPrompt().getHelpful());
    o.addProperty("rounds", e.getRoundsCount());
    o.addProperty("policy_model", e.getPolicyModelId());
    o.addProperty("constitution_sha256", e.getConstitution().getContentSha256());
    return o;
  }

  private static JsonObject message(String role, String content) {
    JsonObject m = new JsonObject();
    m.addProperty("role", role);
    m.addProperty("content", content);
    return m;
  }
}
