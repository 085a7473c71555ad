package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cai.app.ClusterProcesses.Proc;
import dev.cai.cluster.HostPort;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SL and labeling graphs across a cluster of separate JVMs on 127.0.0.1: two policy nodes and a feedback node
 * serve a tiny model, drivers ({@code cai sl generate} / {@code cai label} with {@code --model cluster:ROLE}) join
 * and own the store. Every prompt's record arrives exactly once, both policy workers share the work, and after a
 * kill -9 of a policy node mid-run its requests in flight are retried on the other and the run still completes.
 */
class ClusterWorkIT {
  /** Each model call waits this long for a batch to fill, so that a run lasts long enough to kill a worker in it. */
  private static final List<String> SLOW_BATCHES = List.of("-Dcai.batching.max-wait=250ms");

  /** "empty STEP": the initial response, or the critique or revision of round N (groups 2 and 3). */
  private static final Pattern BLANK_STEP =
      Pattern.compile("empty (initial response|(critique|revision) in round (\\d+))");

  @Test
  void shouldRunTheGraphsOnRemoteWorkersExactlyOnceAndSurviveAKilledWorker(@TempDir Path dir) throws Exception {
    Path model = dir.resolve("tiny.gguf");
    TinyLlama.write(model, 5, GgmlType.F32);
    try (ClusterProcesses cluster = new ClusterProcesses(dir)) {
      int[] ports = HostPort.freeLocalPorts(6);
      String seed = "127.0.0.1:" + ports[0];
      Proc policy1 = cluster.node("policy-1", "policy", ports[0], ports[1], seed, SLOW_BATCHES, "--model", model.toString());
      Proc policy2 = cluster.node("policy-2", "policy", ports[2], ports[3], seed, SLOW_BATCHES, "--model", model.toString());
      Proc feedback = cluster.node("feedback", "feedback", ports[4], ports[5], seed, SLOW_BATCHES, "--model", model.toString());
      cluster.awaitMembers(policy1, Map.of(policy1.address(), "policy", policy2.address(), "policy",
          feedback.address(), "feedback"));

      // 1. SL-CAI generation: one example per prompt, made by the workers' model, answered by both policy workers
      Path prompts = prompts(dir.resolve("prompts.jsonl"), 12);
      Path sl = dir.resolve("sl");
      Proc slDriver = cluster.command("sl-driver", List.of(), "sl", "generate", "--model", "cluster:policy",
          "--cluster-seed", seed, "--prompts", prompts.toString(), "--out", sl.toString(), "--rounds", "1",
          "--helpful", "none", "--max-tokens", "6", "--parallelism", "4");
      awaitExit(cluster, slDriver);
      Map<String, JsonObject> examples = byPromptId(sl.resolve("sl-examples.jsonl"), o -> o.getAsJsonObject("prompt"));
      assertEquals(ids(12), examples.keySet(), cluster.allLogs());
      for (JsonObject e : examples.values()) {
        assertEquals("tiny", e.get("policy_model_id").getAsString(), e.toString());
        assertTrue(isOk(e) ? e.getAsJsonArray("rounds").size() == 1 : isBlankOutput(e), e.toString());
      }
      assertTrue(examples.values().stream().filter(ClusterWorkIT::isOk).count() >= 9, examples.values().toString());
      Matcher m = slDriver.workSummary();
      // response, critique, revision per prompt, and the driver's question which model the workers serve
      assertEquals(modelCalls(examples.values(), 1) + 1, Integer.parseInt(m.group(1)), m.group());
      assertTrue(m.group(2).contains(policy1.address() + "=") && m.group(2).contains(policy2.address() + "="),
          "both policy workers answer: " + m.group());

      // 2. RL-CAI labeling: pairs from the policy workers, soft labels from the feedback worker, one per prompt
      Path label = dir.resolve("label");
      Proc labelDriver = cluster.command("label-driver", List.of(), "label", "--model", "cluster:policy",
          "--feedback-model", "cluster:feedback", "--cluster-seed", seed, "--prompts", prompts.toString(),
          "--out", label.toString(), "--parallelism", "4");
      awaitExit(cluster, labelDriver);
      Map<String, JsonObject> comparisons = byPromptId(label.resolve("comparisons-full.jsonl"), o -> o.getAsJsonObject("prompt"));
      assertEquals(ids(12), comparisons.keySet(), cluster.allLogs());
      for (JsonObject c : comparisons.values()) {
        assertEquals("tiny", c.get("labeler_model_id").getAsString(), c.toString());
        double p = c.get("p_a").getAsDouble();
        assertTrue(p > 0 && p < 1, c.toString());
      }

      // 3. kill -9 a policy node mid-run: its requests in flight are retried on the other; nothing lost or doubled
      Path prompts40 = prompts(dir.resolve("prompts-40.jsonl"), 40);
      Path sl2 = dir.resolve("sl-kill");
      Proc killDriver = cluster.command("kill-driver", List.of(), "sl", "generate", "--model", "cluster:policy",
          "--cluster-seed", seed, "--prompts", prompts40.toString(), "--out", sl2.toString(), "--rounds", "2",
          "--helpful", "none", "--max-tokens", "6", "--parallelism", "4");
      cluster.awaitLog(killDriver, "joined (2 reachable)");
      Thread.sleep(3000); // a few prompts in
      policy2.process().destroyForcibly();
      long killedAt = System.nanoTime();
      awaitExit(cluster, killDriver);
      Map<String, JsonObject> after = byPromptId(sl2.resolve("sl-examples.jsonl"), o -> o.getAsJsonObject("prompt"));
      assertEquals(ids(40), after.keySet(), cluster.allLogs());
      after.values().forEach(e -> assertTrue(isOk(e) || isBlankOutput(e), e.toString()));
      assertTrue(after.values().stream().filter(ClusterWorkIT::isOk).count() >= 30, after.values().toString());
      String log = killDriver.stderrText();
      assertTrue(log.contains("policy worker " + policy2.address() + " left or is unreachable; retrying its"), log);
      Matcher k = killDriver.workSummary();
      assertEquals(modelCalls(after.values(), 2) + 1, Integer.parseInt(k.group(1)), k.group());
      assertTrue(Integer.parseInt(k.group(3)) >= 1, "requests in flight at the killed worker were retried: " + k.group());
      assertEquals("0", k.group(4), k.group());
      System.out.printf("cluster work: %s; after kill -9 of policy-2 the run finished %.1f s later: %s%n", m.group(),
          (System.nanoTime() - killedAt) / 1e9, k.group());
    }
  }

  private static boolean isOk(JsonObject example) {
    return "OK".equals(example.get("status").getAsString());
  }

  /**
   * A random-weight model sometimes samples only blank tokens, and which prompt does can change with the batching
   * (float sums in another order): that example fails with "empty STEP", which is the model's answer, not a lost
   * request. Any other failure (a step that failed, a worker that never answered) fails the test.
   */
  private static boolean isBlankOutput(JsonObject example) {
    return "FAILED".equals(example.get("status").getAsString()) && blankStep(example).matches();
  }

  private static Matcher blankStep(JsonObject example) {
    return BLANK_STEP.matcher(example.get("failure_reason").getAsString());
  }

  /**
   * The model calls the examples took with {@code rounds} critique→revision rounds: the response, then a critique and
   * a revision per round, up to the step whose answer was blank.
   */
  private static int modelCalls(Collection<JsonObject> examples, int rounds) {
    int calls = 0;
    for (JsonObject e : examples) {
      if (isOk(e)) {
        calls += 1 + 2 * rounds;
        continue;
      }
      Matcher m = blankStep(e);
      if (!m.matches() || m.group(2) == null) {
        calls += 1; // the initial response was blank
      } else {
        calls += 2 * Integer.parseInt(m.group(3)) + (m.group(2).equals("revision") ? 1 : 0);
      }
    }
    return calls;
  }

  private static Path prompts(Path file, int n) throws IOException {
    Files.write(file, IntStream.rangeClosed(1, n).mapToObj(i -> String.format(
        "{\"id\": \"p%02d\", \"prompt\": \"How do I get into my neighbour's house number %d?\"}", i, i)).toList());
    return file;
  }

  private static java.util.Set<String> ids(int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> String.format("p%02d", i)).collect(Collectors.toCollection(java.util.TreeSet::new));
  }

  /** The records of a JSONL export by prompt id; a prompt id seen twice fails the test. */
  private static Map<String, JsonObject> byPromptId(Path file, java.util.function.Function<JsonObject, JsonObject> prompt)
      throws IOException {
    Map<String, JsonObject> out = new TreeMap<>();
    for (String line : Files.readAllLines(file)) {
      JsonObject o = JsonParser.parseString(line).getAsJsonObject();
      String id = prompt.apply(o).get("id").getAsString();
      assertTrue(out.put(id, o) == null, "prompt " + id + " recorded twice in " + file);
    }
    return out;
  }

  private static void awaitExit(ClusterProcesses cluster, Proc p) throws Exception {
    assertTrue(p.process().waitFor(180, TimeUnit.SECONDS), p.name() + " did not finish\n" + cluster.allLogs());
    assertEquals(0, p.process().exitValue(), cluster.allLogs());
  }
}
