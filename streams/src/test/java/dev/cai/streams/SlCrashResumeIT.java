package dev.cai.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import dev.cai.persistence.Stored;
import dev.cai.protocol.v1.SlExample;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 in the middle of an SL run with a real (tiny) model in a forked JVM; the restarted run continues
 * after the last commit: every prompt ends up exactly once, with its rounds, and the offset matches.
 */
class SlCrashResumeIT {
  private static final int PROMPTS = 40;

  @Test
  void shouldResumeWithoutDuplicatesOrGapsAfterKillMinus9(@TempDir Path dir) throws Exception {
    Path model = dir.resolve("tiny.gguf");
    TinyLlama.write(model, 3, GgmlType.Q8_0);
    Path prompts = Files.write(dir.resolve("red.jsonl"), IntStream.rangeClosed(1, PROMPTS)
        .mapToObj(i -> "{\"prompt\": \"question number " + i + "\"}").toList());
    Path store = dir.resolve("store");

    Process child = start(store, prompts, model);
    int committed = 0;
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("committed ")) {
          committed = Integer.parseInt(line.substring("committed ".length()));
          if (committed >= 6) {
            break;
          }
        }
      }
    }
    child.destroyForcibly(); // SIGKILL: no shutdown hooks, no flush
    assertTrue(child.waitFor(30, TimeUnit.SECONDS));
    assertTrue(committed >= 6 && committed < PROMPTS, "killed mid-run, after " + committed + " examples");

    try (RecordStore rs = RecordStore.open(store)) {
      long offset = rs.resumeOffset(new PromptSource(prompts, false).id());
      assertEquals(rs.read(RecordKind.SL_EXAMPLES, 0, 1000).size(), offset, "records match the committed offset");
      assertTrue(offset >= committed, "everything acknowledged is on disk");
    }

    Process resumed = start(store, prompts, model);
    String output = new String(resumed.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(resumed.waitFor(5, TimeUnit.MINUTES));
    assertEquals(0, resumed.exitValue(), output);

    try (RecordStore rs = RecordStore.open(store)) {
      List<SlExample> all = rs.read(RecordKind.SL_EXAMPLES, 0, 1000).stream().map(Stored::record).toList();
      assertEquals(IntStream.rangeClosed(1, PROMPTS).mapToObj(i -> "red.jsonl:" + i).toList(),
          all.stream().map(e -> e.getPrompt().getId()).toList(), "each prompt exactly once, in order");
      long ok = 0;
      for (SlExample e : all) {
        if (e.getStatus() == SlExample.Status.OK) {
          ok++;
          assertEquals(2, e.getRoundsCount());
          assertEquals(e.getRounds(1).getRevision(), e.getFinalRevision());
        } else {
          // a random tiny model may sample only special tokens: recorded with its reason, never lost
          assertTrue(e.getFailureReason().startsWith("empty "), e.getFailureReason());
        }
      }
      assertTrue(ok >= PROMPTS / 2, ok + " of " + PROMPTS + " examples OK");
      assertEquals(PROMPTS, rs.resumeOffset(new PromptSource(prompts, false).id()));
    }
  }

  private static Process start(Path store, Path prompts, Path model) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx1g", "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), SlJobMain.class.getName(),
        store.toString(), prompts.toString(), model.toString()));
    return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
  }
}
