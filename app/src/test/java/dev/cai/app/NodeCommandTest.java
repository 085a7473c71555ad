package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class NodeCommandTest {
  /** Runs {@code cai ARGS} in-process and returns the exit code and stderr. */
  private static String[] run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    cl.setOut(new PrintWriter(new StringWriter()));
    int code = cl.execute(args);
    return new String[] {String.valueOf(code), err.toString()};
  }

  private static void assertUsageError(String expected, String... args) {
    String[] r = run(args);
    assertEquals("2", r[0], r[1]);
    assertTrue(r[1].contains(expected), r[1]);
  }

  @Test
  void shouldRefuseAnUnknownRole() {
    assertUsageError("unknown role 'critic' (expected one of: policy, feedback, learner, all)",
        "node", "--role", "critic", "--seed", "127.0.0.1:25520");
  }

  @Test
  void shouldRefuseASeedThatIsNotHostColonPort() {
    assertUsageError("bad address '127.0.0.1' (expected HOST:PORT, e.g. 127.0.0.1:25520)",
        "node", "--role", "policy", "--seed", "127.0.0.1");
    assertUsageError("bad address 'localhost:x': port 'x' is not a number",
        "node", "--role", "policy", "--seed", "localhost:x");
  }

  @Test
  void shouldRefuseAMissingConfigFile(@TempDir Path dir) {
    Path missing = dir.resolve("missing.conf");
    assertUsageError("config file " + missing + " does not exist or is not a file",
        "node", "--role", "learner", "--seed", "127.0.0.1:25520", "--config", missing.toString());
  }

  @Test
  void shouldRefuseAWorkerModelThatDoesNotExist(@TempDir Path dir) {
    Path missing = dir.resolve("nope.gguf");
    assertUsageError("model " + missing + " does not exist (a GGUF file or a model directory)",
        "node", "--role", "policy", "--seed", "127.0.0.1:25520", "--model", missing.toString());
  }

  @Test
  void shouldRefuseAClusterModelWithoutAClusterAndASeedWithoutAClusterModel(@TempDir Path dir) {
    assertUsageError("a cluster:ROLE model runs on the workers of a cluster: give --cluster-seed HOST:PORT",
        "sl", "generate", "--model", "cluster:policy", "--prompts", "builtin:red-team", "--out", dir.toString());
    assertUsageError("a cluster:ROLE model runs on the workers of a cluster: give --cluster-seed HOST:PORT",
        "label", "--model", "cluster:policy", "--feedback-model", "cluster:feedback", "--prompts", "builtin:red-team", "--out", dir.toString());
    assertUsageError("--cluster-seed joins a cluster to use its workers",
        "label", "--model", dir.resolve("local.gguf").toString(), "--cluster-seed", "127.0.0.1:25520", "--prompts", "builtin:red-team", "--out", dir.toString());
    String[] r = run("sl", "generate", "--model", "cluster:learner", "--prompts", "builtin:red-team", "--out", dir.toString());
    assertEquals("1", r[0], r[1]);
    assertTrue(r[1].contains("model spec 'cluster:learner': the role must be one of [policy, feedback]"), r[1]);
  }

  @Test
  void shouldRefuseAPortOutOfRange() {
    assertUsageError("--management-port 70000 is out of range (0..65535, 0 = any free port)",
        "node", "--role", "all", "--seed", "127.0.0.1:25520", "--management-port", "70000");
  }

  @Test
  void shouldRequireARoleAndASeed() {
    assertUsageError("Missing required options: '--role=ROLE', '--seed=HOST:PORT'", "node");
  }

  @Test
  void shouldRefuseToStartWithTlsOnAndAKeyStoreThatIsMissing(@TempDir Path dir) throws Exception {
    Path missing = dir.resolve("node.p12");
    Path conf = Files.writeString(dir.resolve("tls.conf"), "cai.cluster.tls { enabled = on, key-store = \""
        + missing + "\", trust-store = \"" + missing + "\", key-store-password = a, trust-store-password = b }\n");
    String[] r = run("node", "--role", "policy", "--seed", "127.0.0.1:25520", "--config", conf.toString());
    assertEquals("1", r[0], r[1]);
    assertTrue(r[1].contains("error: TLS key store " + missing + " (cai.cluster.tls.key-store) does not exist or is not a file"), r[1]);
  }

  @Test
  void shouldRefuseAnRlJobOnANodeWithoutTheLearnerRole(@TempDir Path dir) throws Exception {
    Path job = Files.writeString(dir.resolve("rl-job.conf"), "rl-job {}");
    assertUsageError("--rl-job needs a node with the learner role (--role learner or all), not one with roles [policy]",
        "node", "--role", "policy", "--seed", "127.0.0.1:25520", "--rl-job", job.toString());
  }

  @Test
  void shouldRefuseALearnerDirWithoutAnRlJob(@TempDir Path dir) {
    assertUsageError("--learner-dir needs --rl-job",
        "node", "--role", "learner", "--seed", "127.0.0.1:25520", "--learner-dir", dir.toString());
  }

  @Test
  void shouldRefuseAnRlJobFileThatNamesAMissingModelBeforeStartingTheNode(@TempDir Path dir) throws Exception {
    Path job = Files.writeString(dir.resolve("rl-job.conf"),
        "rl-job { sl-checkpoint = sl, pm = pm, prompts = p.jsonl, updates = 2 }");
    assertUsageError("RL job " + job + ": SL checkpoint " + dir.resolve("sl") + " does not exist",
        "node", "--role", "learner", "--seed", "127.0.0.1:25520", "--rl-job", job.toString());
  }
}
