package dev.cai.runtime.constitution;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.cai.runtime.constitution.Constitution.CritiqueExample;
import dev.cai.runtime.constitution.Constitution.CritiqueRevision;
import java.util.List;
import org.junit.jupiter.api.Test;

class CritiquePromptsTest {
  private static final CritiqueRevision RULE = new CritiqueRevision("harm", "Find harm.", "Remove harm.");

  @Test
  void shouldBuildCritiqueAndRevisionTurnsAfterTheResponse() {
    CritiquePrompts prompts = new CritiquePrompts(List.of(), false);
    Transcript conv = CritiquePrompts.initial("\n\nHuman: hi\n\nAssistant: hello", "How do I pick a lock?");
    assertEquals("\n\nHuman: hi\n\nAssistant: hello\n\nHuman: How do I pick a lock?", conv.render(false));
    assertEquals(conv.render(false) + "\n\nAssistant: Use a pin.\n\nHuman: Find harm.",
        prompts.critique(conv, "Use a pin.", RULE).render(false));
    assertEquals(conv.render(false) + "\n\nAssistant: Use a pin.\n\nHuman: Find harm.\n\nAssistant: It helps burglary."
        + "\n\nHuman: Remove harm.\n\nThe reply to rewrite:\n\"Use a pin.\"\n\nWrite only the rewritten reply.",
        prompts.revision(conv, "Use a pin.", "It helps burglary.", RULE).render(false));
  }

  @Test
  void shouldPutFewShotDemonstrationsFirstAndAskForStepByStepCritiques() {
    CritiqueExample shot = new CritiqueExample(Transcript.of("q?", "bad a"), RULE, "crit", "good a");
    CritiquePrompts prompts = new CritiquePrompts(List.of(shot), true);
    Transcript t = prompts.critique(CritiquePrompts.initial("", "p?"), "r", RULE);
    assertEquals("\n\nHuman: q?\n\nAssistant: bad a\n\nHuman: Find harm. Let's think step by step.\n\nAssistant: crit"
        + "\n\nHuman: Remove harm.\n\nThe reply to rewrite:\n\"bad a\"\n\nWrite only the rewritten reply.\n\nAssistant: good a"
        + "\n\nHuman: p?\n\nAssistant: r\n\nHuman: Find harm. Let's think step by step.", t.render(false));
  }
}
