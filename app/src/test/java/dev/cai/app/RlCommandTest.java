package dev.cai.app;

import static dev.cai.app.CaiCli.cai;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.train.TinyPreferenceModel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code cai rl train} on tiny random models: input validation and a short run. */
class RlCommandTest {
  @TempDir static Path dir;
  private static Path policy;
  private static Path pm;
  private static Path prompts;

  @BeforeAll
  static void writeModels() throws Exception {
    policy = dir.resolve("policy.gguf");
    TinyLlama.write(policy, 3, GgmlType.F32);
    pm = TinyPreferenceModel.train(policy, dir);
    prompts = Files.write(dir.resolve("prompts.jsonl"),
        IntStream.rangeClosed(1, 6).mapToObj(i -> "{\"prompt\": \"question " + i + "?\"}").toList());
  }


  @Test
  void shouldDescribeEveryOption() {
    CaiCli.Result r = cai("rl", "train", "--help");
    assertEquals(0, r.code());
    for (String option : List.of("--sl-checkpoint", "--pm", "--prompts", "--out", "--updates", "--device",
        "--max-staleness", "--critic-init", "--follow", "--http")) {
      assertTrue(r.out().contains(option), option);
    }
  }

  @Test
  void shouldNameAMissingCheckpointAndAPreferenceModelWithoutRewardHead() throws Exception {
    CaiCli.Result missing = cai("rl", "train", "--sl-checkpoint", dir.resolve("nope").toString(), "--pm", pm.toString(),
        "--prompts", prompts.toString(), "--out", dir.resolve("run-missing").toString());
    assertEquals(1, missing.code());
    assertTrue(missing.err().contains("SL checkpoint " + dir.resolve("nope") + " does not exist"), missing.err());

    Path headless = Files.createDirectories(dir.resolve("headless"));
    CaiCli.Result noHead = cai("rl", "train", "--sl-checkpoint", policy.toString(), "--pm", headless.toString(),
        "--prompts", prompts.toString(), "--out", dir.resolve("run-headless").toString());
    assertEquals(1, noHead.code());
    assertTrue(noHead.err().contains("Preference model " + headless + " has no reward head: heads.safetensors is missing"),
        noHead.err());

    CaiCli.Result noLabeler = cai("rl", "train", "--sl-checkpoint", policy.toString(), "--pm", pm.toString(),
        "--prompts", prompts.toString(), "--out", dir.resolve("run-labeler").toString(), "--continual-every", "2",
        "--feedback-model", dir.resolve("no-labeler.gguf").toString());
    assertEquals(1, noLabeler.code());
    assertTrue(noLabeler.err().contains("Feedback model " + dir.resolve("no-labeler.gguf")
        + " (continual RLAIF's labeler) does not exist"), noLabeler.err());

    CaiCli.Result usage = cai("rl", "train", "--pm", pm.toString());
    assertEquals(2, usage.code());
    assertTrue(usage.err().contains("needs --sl-checkpoint, --pm, --prompts and --out"), usage.err());

    CaiCli.Result httpAlone = cai("rl", "train", "--sl-checkpoint", policy.toString(), "--pm", pm.toString(),
        "--prompts", prompts.toString(), "--out", dir.resolve("run-http").toString(), "--http");
    assertEquals(2, httpAlone.code());
    assertTrue(httpAlone.err().contains("--http needs --follow"), httpAlone.err());
  }

  @Test
  void shouldTrainAndReportEachUpdate() throws Exception {
    Path run = dir.resolve("run");
    CaiCli.Result r = cai("rl", "train", "--sl-checkpoint", policy.toString(), "--pm", pm.toString(), "--prompts",
        prompts.toString(), "--out", run.toString(), "--updates", "2", "--batch-size", "2", "--device", "cpu");
    assertEquals(0, r.code(), r.err() + r.out());
    assertTrue(r.err().contains("update 1/2  score "), r.err());
    assertTrue(r.err().contains("update 2/2  score ") && r.err().contains("staleness 1:2"), r.err());
    assertTrue(r.out().contains("policy    version 2 (started at 0)"), r.out());
    assertTrue(r.out().contains("learner commits"), r.out());
    assertEquals(2, Files.readAllLines(run.resolve("rl-metrics.jsonl"), StandardCharsets.UTF_8).size());
    assertTrue(Files.isRegularFile(run.resolve("model/model.safetensors")));
    assertTrue(r.out().contains("weights only"), "a GGUF checkpoint has no tokenizer.json to copy: " + r.out());
  }

  @Test
  void shouldRefreshThePreferenceModelWithContinualRlaif() throws Exception {
    Path run = dir.resolve("run-continual");
    CaiCli.Result r = cai("rl", "train", "--sl-checkpoint", policy.toString(), "--pm", pm.toString(), "--prompts",
        prompts.toString(), "--out", run.toString(), "--updates", "2", "--batch-size", "2", "--device", "cpu",
        "--continual-every", "1", "--feedback-model", policy.toString());
    assertEquals(0, r.code(), r.err() + r.out());
    assertTrue(r.err().contains("continual RLAIF: every 1 batches, 8 pairs labeled by policy.gguf"), r.err());
    // batches 0, 1 and 2 (which closes the run) each pair their 2 prompts: refreshes 1, 2 and 3; the newest 2 are kept
    assertTrue(Files.isRegularFile(run.resolve("pm-refresh/v0003/model/reward_normalization.json")));
    assertTrue(Files.isRegularFile(run.resolve("pm-refresh/v0002/model/reward_normalization.json")));
    assertTrue(!Files.exists(run.resolve("pm-refresh/v0001")), "older refreshes are deleted (cai.rl.continual.keep = 2)");

    CaiCli.Result changed = cai("rl", "train", "--sl-checkpoint", policy.toString(), "--pm", pm.toString(), "--prompts",
        prompts.toString(), "--out", run.toString(), "--updates", "3", "--batch-size", "2", "--device", "cpu");
    assertEquals(1, changed.code());
    assertTrue(changed.err().contains("was started with cai.rl.continual.every = 1 but this run has 0"), changed.err());
  }
}
