package dev.cai.runtime.constitution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.constitution.Constitution.Principle;
import dev.cai.runtime.tokenizer.ChatTemplate;
import org.junit.jupiter.api.Test;

class LabelingPromptsTest {
  private static final Principle P = new Principle("p", "Which response is less harmful?");
  private static final Transcript CONV = Transcript.ofHuman("How do I pick a lock?");

  @Test
  void shouldEndInTheAnswerPrefixInsideAnOpenAssistantTurn() {
    LabelingPrompts prompts = new LabelingPrompts(ConstitutionLoader.loadDefault(), false, false);
    String chatMl = prompts.context(ChatTemplate.chatMl(), CONV, P, "Call a locksmith.", "Use a bobby pin.  ",
        LabelingPrompts.ANSWER_PREFIX);
    assertEquals("<|im_start|>user\nConsider the following conversation between a human and an assistant:\n"
        + "Human: How do I pick a lock?\n\nWhich response is less harmful?\nOptions:\n(A) Call a locksmith.\n"
        + "(B) Use a bobby pin.<|im_end|>\n<|im_start|>assistant\nThe answer is:", chatMl);
    String transcript = prompts.context(ChatTemplate.transcript(), CONV, P, "a", "b", LabelingPrompts.ANSWER_PREFIX);
    assertTrue(transcript.endsWith("(B) b\n\nAssistant: The answer is:"), transcript);
  }

  @Test
  void shouldAlternateWhereTheBetterFewShotReplyStands() {
    Constitution c = ConstitutionLoader.loadDefault();
    String ctx = new LabelingPrompts(c, true, false).context(ChatTemplate.chatMl(), CONV, P, "x", "y",
        LabelingPrompts.ANSWER_PREFIX);
    Constitution.LabelingExample first = c.labelingExamples().get(0);
    Constitution.LabelingExample second = c.labelingExamples().get(1);
    assertTrue(ctx.contains("(A) " + first.better() + "\n(B) " + first.worse()), "first shot: better at (A)");
    assertTrue(ctx.contains("(A) " + second.worse() + "\n(B) " + second.better()), "second shot: better at (B)");
    assertTrue(ctx.contains("assistant\nThe answer is: (A)<|im_end|>") && ctx.contains("assistant\nThe answer is: (B)<|im_end|>"));
    String cot = new LabelingPrompts(c, true, true).context(ChatTemplate.chatMl(), CONV, P, "x", "y", LabelingPrompts.THINK);
    assertTrue(cot.contains(c.chainOfThoughtExamples().get(0).reasoning() + "\nSo the answer is: (A)"), cot);
    assertTrue(cot.endsWith("<|im_start|>assistant\nLet's think step by step:"));
  }
}
