package dev.cai.cluster.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.train.TinyPreferenceModel;
import dev.cai.streams.RlJob;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LearnerJobTest {
  @TempDir static Path models;
  private static final Config NODE = ConfigFactory.load();

  @BeforeAll
  static void tinyModels() throws Exception {
    TinyLlama.write(models.resolve("policy.gguf"), 3, GgmlType.F32);
    TinyPreferenceModel.train(models.resolve("policy.gguf"), models);
    Files.writeString(models.resolve("prompts.jsonl"), "{\"prompt\": \"hi?\"}\n");
  }

  private static Path job(Path dir, String body) throws Exception {
    Files.createDirectories(dir.resolve("jobs"));
    return Files.writeString(dir.resolve("jobs/rl-job.conf"), "rl-job {\n"
        + "  sl-checkpoint = \"" + models.resolve("policy.gguf") + "\"\n"
        + "  pm = \"" + models.resolve("pm/model") + "\"\n"
        + body + "}\n");
  }

  @Test
  void shouldReadAJobWithPathsRelativeToItsFileAndSettingsOverCaiRl(@TempDir Path dir) throws Exception {
    Files.copy(models.resolve("prompts.jsonl"), Files.createDirectories(dir.resolve("jobs")).resolve("p.jsonl"));
    Path file = job(dir, "prompts = [\"p.jsonl\"]\n updates = 12\n device = cpu\n"
        + "settings { batch-size = 3, commit-every = 4 }\n batching { max-wait = 7ms }\n");

    RlJob.Config c = LearnerJob.load(file, NODE, dir.resolve("node")).config();

    assertEquals(models.resolve("policy.gguf"), c.slCheckpoint());
    assertEquals(List.of(dir.resolve("jobs/p.jsonl").toAbsolutePath()), c.sources().stream().map(s -> s.file()).toList());
    assertEquals(12, c.updates());
    assertEquals(3, c.rl().batchSize());
    assertEquals(4, c.rl().commitEvery());
    assertEquals(NODE.getInt("cai.rl.max-new-tokens"), c.rl().maxNewTokens(), "the rest comes from cai.rl");
    assertEquals(Duration.ofMillis(7), c.batching().maxWait());
    assertEquals(Optional.of(dir.resolve("node/rl-metrics.jsonl")), c.metricsFile());
    assertEquals(Optional.of(dir.resolve("node/model")), c.exportDir());
  }

  @Test
  void shouldNameTheFileAndTheUnknownSetting(@TempDir Path dir) throws Exception {
    Path file = job(dir, "prompts = \"" + models.resolve("prompts.jsonl") + "\"\n updates = 2\n settings { batch-sise = 3 }\n");

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LearnerJob.load(file, NODE, dir));

    assertTrue(e.getMessage().startsWith("RL job " + file + ": settings.batch-sise: unknown setting; cai.rl has: "),
        e.getMessage());
  }

  @Test
  void shouldNameAMissingModel(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("job.conf"), "rl-job { sl-checkpoint = nope, pm = \"" + models.resolve("pm/model")
        + "\", prompts = \"" + models.resolve("prompts.jsonl") + "\", updates = 2 }");

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LearnerJob.load(file, NODE, dir));

    assertEquals("RL job " + file + ": SL checkpoint " + dir.resolve("nope")
        + " does not exist (cai sl train writes RUN_DIR/sl-train/model)", e.getMessage());
  }

  @Test
  void shouldRefuseShipEveryThatIsNotAMultipleOfCommitEvery(@TempDir Path dir) throws Exception {
    Path file = job(dir, "prompts = \"" + models.resolve("prompts.jsonl") + "\"\n updates = 2\n settings { commit-every = 4 }\n");
    LearnerJob job = LearnerJob.load(file, NODE, dir);
    LearnerHaSettings ha = LearnerHaSettings.fromConfig(ConfigFactory.parseString("cai.cluster.learner { dir = x, "
        + "ship-every = 6, chunk-size = 64 KiB, window = 8, keep = 2, ack-timeout = 30s }"));

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> job.checkShipEvery(ha));

    assertEquals("cai.cluster.learner.ship-every (6) must be a multiple of cai.rl.commit-every (4 in " + file
        + "): a shipped checkpoint holds the last learner commit", e.getMessage());
  }

  @Test
  void shouldRefuseAChunkSizeTheNodesArteryFrameCouldNotCarry() {
    String learner = "cai.cluster.learner { dir = x, ship-every = 2, window = 8, keep = 2, ack-timeout = 30s }\n";
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LearnerHaSettings.fromConfig(
        ConfigFactory.parseString(learner + "cai.cluster.learner.chunk-size = 256 KiB").withFallback(ConfigFactory.load())));

    assertEquals("cai.cluster.learner.chunk-size 262144 does not fit an Artery frame: "
        + "pekko.remote.artery.advanced.maximum-frame-size is 262144 and a chunk needs 8192 bytes beside its data",
        e.getMessage());
    assertEquals(512 * 1024, LearnerHaSettings.fromConfig(ConfigFactory.parseString(learner
        + "cai.cluster.learner.chunk-size = 512 KiB\npekko.remote.artery.advanced.maximum-frame-size = 1 MiB")
        .withFallback(ConfigFactory.load())).chunkSize(), "a node with larger frames takes larger chunks");
  }
}
