package dev.cai.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.cai.protocol.v1.Prompt;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PromptReaderTest {
  @TempDir Path dir;

  @Test
  void shouldReadPlainTranscriptAndComparisonLinesWithLineOffsets() throws Exception {
    Path f = Files.writeString(dir.resolve("p.jsonl"), String.join("\n",
        "{\"prompt\": \"How do I pick a lock?\"}",
        "",
        "{\"prompt\": \"\\n\\nHuman: hi\\n\\nAssistant: hello\\n\\nHuman: steal a car?\\n\\nAssistant:\", \"id\": \"t1\"}",
        "{\"chosen\": \"\\n\\nHuman: q1\\n\\nAssistant: a1\\n\\nHuman: q2\\n\\nAssistant: good\", \"rejected\": \"x\"}"));
    List<Prompt> all = PromptReader.readAll(f, false);
    assertEquals(3, all.size());
    assertEquals("How do I pick a lock?", all.get(0).getText());
    assertEquals("", all.get(0).getContext());
    assertEquals(1, all.get(0).getSourceOffset());
    assertEquals("p.jsonl:1", all.get(0).getId());
    assertEquals("steal a car?", all.get(1).getText());
    assertEquals("\n\nHuman: hi\n\nAssistant: hello", all.get(1).getContext());
    assertEquals(3, all.get(1).getSourceOffset());
    assertEquals("t1", all.get(1).getId());
    assertEquals("q2", all.get(2).getText());
    assertEquals("\n\nHuman: q1\n\nAssistant: a1", all.get(2).getContext());
  }

  @Test
  void shouldResumeAfterACommittedLineAndReadGzip() throws Exception {
    Path f = dir.resolve("p.jsonl.gz");
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(f))) {
      for (int i = 1; i <= 5; i++) {
        out.write(("{\"prompt\": \"q" + i + "\"}\n").getBytes(StandardCharsets.UTF_8));
      }
    }
    List<String> rest = new ArrayList<>();
    try (PromptReader r = PromptReader.open(f, 3, true)) {
      r.forEachRemaining(p -> rest.add(p.getText() + "@" + p.getSourceOffset() + (p.getHelpful() ? "h" : "")));
    }
    assertEquals(List.of("q4@4h", "q5@5h"), rest);
  }

  @Test
  void shouldNameFileAndLineOfAMalformedPrompt() throws Exception {
    Path f = Files.writeString(dir.resolve("bad.jsonl"), "{\"prompt\": \"ok\"}\n{\"prompt\": 3}\n{oops\n");
    try (PromptReader r = PromptReader.open(f, 0, false)) {
      r.next();
      PromptReader.PromptFileException e = assertThrows(PromptReader.PromptFileException.class, r::next);
      assertEquals(f + ":2: \"prompt\" must be a string", e.getMessage());
    }
    assertThrows(PromptReader.PromptFileException.class, () -> PromptReader.readAll(dir.resolve("missing.jsonl"), false));
    Path empty = Files.writeString(dir.resolve("e.jsonl"), "{\"prompt\": \"  \"}\n");
    assertEquals(empty + ":1: the prompt is empty",
        assertThrows(PromptReader.PromptFileException.class, () -> PromptReader.readAll(empty, false)).getMessage());
  }

  @Test
  void shouldLetALineOverrideItsSourcesHelpfulFlagAndRejectBadOverrides() throws Exception {
    Path f = dir.resolve("mixed.jsonl");
    assertEquals(true, PromptReader.parseLine(f, 4, "{\"prompt\": \"hi\", \"helpful\": true}", false).getHelpful());
    assertEquals(false, PromptReader.parseLine(f, 4, "{\"prompt\": \"hi\"}", false).getHelpful());
    assertEquals(f + ":4: \"helpful\" must be true or false", assertThrows(PromptReader.PromptFileException.class,
        () -> PromptReader.parseLine(f, 4, "{\"prompt\": \"hi\", \"helpful\": \"yes\"}", false)).getMessage());
    assertEquals(f + ":4: \"id\" must not be empty", assertThrows(PromptReader.PromptFileException.class,
        () -> PromptReader.parseLine(f, 4, "{\"prompt\": \"hi\", \"id\": \"\"}", false)).getMessage());
  }
}
