package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.cai.persistence.RecordStore;
import dev.cai.streams.PromptSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PendingPromptsTest {
  @TempDir Path dir;

  @Test
  void shouldCountThePromptsLeftWithAndWithoutALimit() throws Exception {
    Path file = Files.writeString(dir.resolve("p.jsonl"), "{\"prompt\": \"a\"}\n\n{\"prompt\": \"b\"}\n{\"prompt\": \"c\"}\n");
    List<PromptSource> sources = List.of(new PromptSource(file, false));
    try (RecordStore store = RecordStore.inMemory()) {
      assertEquals(3, assertTimeoutPreemptively(Duration.ofSeconds(10), () -> PendingPrompts.count(sources, store, 0)));
      assertEquals(1, PendingPrompts.count(sources, store, 1));
      assertEquals(3, PendingPrompts.count(sources, store, 9));
    }
  }
}
