package dev.cai.runtime.constitution;

import dev.cai.runtime.constitution.Constitution.CritiqueExample;
import dev.cai.runtime.constitution.Constitution.CritiqueRevision;
import dev.cai.runtime.constitution.Transcript.Speaker;
import dev.cai.runtime.constitution.Transcript.Turn;
import java.util.ArrayList;
import java.util.List;

/**
 * The conversations of one SL-CAI critique → revision round (Bai et al. 2022, §3.1), for a chat model:
 * the critique request and the revision request are human turns after the response under review. Each
 * round reviews the latest response in a fresh context (prompt, response, request), which keeps the
 * context bounded for small models; few-shot demonstrations, when on, come first as earlier turns.
 */
public final class CritiquePrompts {
  /** Appended to the critique request when chain-of-thought critiques are on. */
  public static final String THINK_STEP_BY_STEP = "Let's think step by step.";

  private final List<Turn> fewShotPrefix;
  private final boolean chainOfThought;

  /**
   * @param examples few-shot demonstrations to show before each request (empty for none)
   * @param chainOfThought ask for step-by-step critiques
   */
  public CritiquePrompts(List<CritiqueExample> examples, boolean chainOfThought) {
    List<Turn> prefix = new ArrayList<>();
    for (CritiqueExample e : examples) {
      prefix.addAll(e.conversation().turns());
      prefix.add(new Turn(Speaker.HUMAN, critiqueRequest(e.rule(), chainOfThought)));
      prefix.add(new Turn(Speaker.ASSISTANT, e.critique()));
      prefix.add(new Turn(Speaker.HUMAN, revisionRequest(e.rule(), e.conversation().turns().get(e.conversation().turns().size() - 1).text())));
      prefix.add(new Turn(Speaker.ASSISTANT, e.revision()));
    }
    this.fewShotPrefix = List.copyOf(prefix);
    this.chainOfThought = chainOfThought;
  }

  /** The conversation the initial response answers: earlier turns (if any) and the human prompt. */
  public static Transcript initial(String context, String prompt) {
    Transcript earlier = context.isEmpty() ? new Transcript(List.of()) : Transcript.parse(context);
    return earlier.with(Speaker.HUMAN, prompt);
  }

  /** Asks for a critique of {@code response} (the reply to {@code conversation}) under {@code rule}. */
  public Transcript critique(Transcript conversation, String response, CritiqueRevision rule) {
    return withPrefix(conversation.with(Speaker.ASSISTANT, response)
        .with(Speaker.HUMAN, critiqueRequest(rule, chainOfThought)));
  }

  /**
   * Asks for the revision of {@code response} given its {@code critique} under {@code rule}. The request
   * quotes the reply to rewrite: after the critique turn, "the assistant's reply" would otherwise most
   * recently be the critique itself, and small chat models rewrite that instead.
   */
  public Transcript revision(Transcript conversation, String response, String critique, CritiqueRevision rule) {
    return withPrefix(conversation.with(Speaker.ASSISTANT, response)
        .with(Speaker.HUMAN, critiqueRequest(rule, chainOfThought))
        .with(Speaker.ASSISTANT, critique)
        .with(Speaker.HUMAN, revisionRequest(rule, response)));
  }

  /** The revision request with the reply it is about; the answer should be the new reply alone. */
  static String revisionRequest(CritiqueRevision rule, String response) {
    return rule.revision() + "\n\nThe reply to rewrite:\n\"" + response + "\"\n\nWrite only the rewritten reply.";
  }

  private static String critiqueRequest(CritiqueRevision rule, boolean chainOfThought) {
    return chainOfThought ? rule.critique() + " " + THINK_STEP_BY_STEP : rule.critique();
  }

  private Transcript withPrefix(Transcript t) {
    if (fewShotPrefix.isEmpty()) {
      return t;
    }
    List<Turn> all = new ArrayList<>(fewShotPrefix);
    all.addAll(t.turns());
    return new Transcript(all);
  }
}
