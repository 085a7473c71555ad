package dev.cai.runtime.constitution;

import dev.cai.runtime.constitution.Constitution.Principle;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.tokenizer.ChatTemplate;
import java.util.ArrayList;
import java.util.List;

/**
 * The AI-feedback multiple-choice question of RL-CAI (Bai et al. 2022, §4.1), for a chat model: one user
 * turn holding the conversation, a principle and the options (A)/(B); the assistant turn starts with
 * {@value #ANSWER_PREFIX} and the labeler scores the continuations {@value #OPTION_A} and {@value #OPTION_B}.
 * Few-shot demonstrations come first as earlier question/answer turns, with the better reply placed at (A)
 * or (B) alternately so the demonstrations carry no position bias. In chain-of-thought mode the assistant
 * first reasons after {@value #THINK}, then {@value #COT_ANSWER} is appended before scoring.
 */
public final class LabelingPrompts {
  public static final String ANSWER_PREFIX = "The answer is:";
  public static final String OPTION_A = " (A)";
  public static final String OPTION_B = " (B)";
  public static final String THINK = "Let's think step by step:";
  public static final String COT_ANSWER = "\nSo the answer is:";

  private final List<ChatMessage> fewShot;

  /** With the constitution's labeling demonstrations ({@code fewShot}), or its chain-of-thought ones. */
  public LabelingPrompts(Constitution constitution, boolean fewShot, boolean chainOfThought) {
    List<ChatMessage> shots = new ArrayList<>();
    if (fewShot) {
      List<Shot> examples = chainOfThought
          ? constitution.chainOfThoughtExamples().stream()
              .map(e -> new Shot(e.conversation(), e.better(), e.worse(), THINK + "\n" + e.reasoning() + COT_ANSWER)).toList()
          : constitution.labelingExamples().stream()
              .map(e -> new Shot(e.conversation(), e.better(), e.worse(), ANSWER_PREFIX)).toList();
      List<Principle> principles = constitution.principles();
      for (int i = 0; i < examples.size(); i++) {
        Shot e = examples.get(i);
        boolean betterIsA = i % 2 == 0;
        shots.add(ChatMessage.user(question(e.conversation(), principles.get(i % principles.size()).text(),
            betterIsA ? e.better() : e.worse(), betterIsA ? e.worse() : e.better())));
        shots.add(ChatMessage.assistant(e.answerLead() + (betterIsA ? OPTION_A : OPTION_B)));
      }
    }
    this.fewShot = List.copyOf(shots);
  }

  /** A demonstration: the conversation, its better and worse reply, and what the answer says before the letter. */
  private record Shot(Transcript conversation, String better, String worse, String answerLead) {}

  /** The question text: conversation, principle, options. */
  public static String question(Transcript conversation, String principle, String optionA, String optionB) {
    return "Consider the following conversation between a human and an assistant:\n"
        + conversation.render(false).strip() + "\n\n"
        + principle + "\nOptions:\n(A) " + optionA.strip() + "\n(B) " + optionB.strip();
  }

  /**
   * The text to continue: few-shot turns, the question, and an open assistant turn that starts with
   * {@code assistantPrefix} ({@link #ANSWER_PREFIX} to score the options, {@link #THINK} to generate reasoning,
   * or the reasoning followed by {@link #COT_ANSWER}).
   */
  public String context(ChatTemplate template, Transcript conversation, Principle principle, String optionA,
      String optionB, String assistantPrefix) {
    List<ChatMessage> m = new ArrayList<>(fewShot);
    m.add(ChatMessage.user(question(conversation, principle.text(), optionA, optionB)));
    String open = template.render(m, true);
    return template.format() == ChatTemplate.Format.TRANSCRIPT ? open + " " + assistantPrefix : open + assistantPrefix;
  }
}
