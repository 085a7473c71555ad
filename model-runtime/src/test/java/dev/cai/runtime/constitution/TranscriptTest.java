package dev.cai.runtime.constitution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.constitution.Transcript.Speaker;
import java.util.List;
import org.junit.jupiter.api.Test;

class TranscriptTest {
  @Test
  void shouldParseHhRlhfTranscriptsAndDropTheOpenAssistantTurn() {
    Transcript t = Transcript.parse("\n\nHuman: hi there\n\nAssistant: hello!\n\nHuman: how are you?\n\nAssistant:");
    assertEquals(List.of(new Transcript.Turn(Speaker.HUMAN, "hi there"), new Transcript.Turn(Speaker.ASSISTANT, "hello!"),
        new Transcript.Turn(Speaker.HUMAN, "how are you?")), t.turns());
    assertEquals("hi there", t.firstHuman());
    assertEquals("\n\nHuman: hi there\n\nAssistant: hello!\n\nHuman: how are you?\n\nAssistant:", t.render(true));
    assertEquals(t, Transcript.parse(t.render(false)), "render and parse are inverse");
  }

  @Test
  void shouldRejectTextBeforeTheFirstTurn() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Transcript.parse("oops\n\nHuman: hi"));
    assertTrue(e.getMessage().contains("must start with \"\\n\\nHuman:\""), e.getMessage());
  }
}
