package dev.cai.app;

import static dev.cai.app.CaiCli.cai;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.app.ClusterProcesses.Proc;
import dev.cai.cluster.HostPort;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.train.TinyPreferenceModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Online PPO with its rollouts sampled on a policy node of the cluster (a separate JVM): the learner's versions reach
 * the node's policy actor by weight shipping, and the run ends with exactly the policy weights of the same run done
 * in one process.
 */
class ClusterRlIT {

  @Test
  void shouldLearnFromRolloutsOfARemotePolicyWorkerExactlyAsInOneProcess(@TempDir Path dir) throws Exception {
    Path policy = dir.resolve("policy.gguf");
    TinyLlama.write(policy, 3, GgmlType.F32);
    Path pm = TinyPreferenceModel.train(policy, dir);
    Path prompts = Files.write(dir.resolve("prompts.jsonl"),
        IntStream.rangeClosed(1, 8).mapToObj(i -> "{\"prompt\": \"question " + i + "?\"}").toList());
    List<String> job = List.of("rl", "train", "--sl-checkpoint", policy.toString(), "--pm", pm.toString(), "--prompts",
        prompts.toString(), "--updates", "3", "--batch-size", "2", "--device", "cpu");

    Path local = dir.resolve("run-local");
    CaiCli.Result r = cai(with(job, "--out", local.toString()));
    assertEquals(0, r.code(), r.err() + r.out());

    try (ClusterProcesses cluster = new ClusterProcesses(dir)) {
      int[] ports = HostPort.freeLocalPorts(2);
      String seed = "127.0.0.1:" + ports[0];
      Proc node = cluster.node("policy", "policy", ports[0], ports[1], seed, List.of(), "--model", policy.toString(),
          "--rollouts");
      cluster.awaitMembers(node, Map.of(node.address(), "policy"));
      Path remote = dir.resolve("run-cluster");
      Proc driver = cluster.command("rl-driver", List.of(), with(job, "--out", remote.toString(), "--policy-workers",
          "cluster", "--cluster-seed", seed));
      assertTrue(driver.process().waitFor(180, TimeUnit.SECONDS), cluster.allLogs());
      assertEquals(0, driver.process().exitValue(), cluster.allLogs());
      assertTrue(Files.readString(driver.stdout()).contains("policy    version 3 (started at 0)"), cluster.allLogs());

      // every rollout came from the policy node: one request per batch of 2 (the 3 learned, and with max-staleness 1
      // one sampled ahead), plus the driver's query which model it serves
      Matcher m = driver.workSummary();
      int answered = Integer.parseInt(m.group(1));
      assertTrue(answered >= 3 + 1, m.group());
      assertEquals(List.of(node.address() + "=" + answered, "0", "0"), List.of(m.group(2), m.group(3), m.group(4)),
          m.group());
      // the node served the learner's versions (shipped weights), so the run is the one-process run, bit for bit
      assertArrayEquals(Files.readAllBytes(local.resolve("model/model.safetensors")),
          Files.readAllBytes(remote.resolve("model/model.safetensors")), "final policy weights differ\n" + cluster.allLogs());
      assertEquals(Files.readAllLines(local.resolve("rl-metrics.jsonl")).size(),
          Files.readAllLines(remote.resolve("rl-metrics.jsonl")).size());
    }
  }

  private static String[] with(List<String> args, String... more) {
    return java.util.stream.Stream.concat(args.stream(), java.util.stream.Stream.of(more)).toArray(String[]::new);
  }
}
