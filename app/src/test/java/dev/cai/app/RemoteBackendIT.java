package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cai.actors.BatchModel.Outcome;
import dev.cai.actors.FeedbackModel;
import dev.cai.actors.ModelLoading;
import dev.cai.actors.OptionScores;
import dev.cai.actors.ScoreOptionsRequest;
import dev.cai.runtime.constitution.Constitution;
import dev.cai.runtime.constitution.ConstitutionLoader;
import dev.cai.runtime.constitution.LabelingPrompts;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.ppo.SoftLabels;
import dev.cai.runtime.tokenizer.ChatTemplate;
import dev.cai.streams.remote.OpenAiClient;
import dev.cai.streams.remote.RemoteModel;
import dev.cai.streams.remote.RemoteOptionScorer;
import dev.cai.streams.remote.RemoteSettings;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The remote backend against {@code cai serve} running as a separate JVM on a tiny random model: A/B soft labels read
 * from the server's echoed prompt log-probs agree with the in-process {@link FeedbackModel} on the same model file
 * (|Δp(A)| < 1e-4: both sum the same float32 log-softmax values, computed in differently shaped batches), and
 * {@code cai label} / {@code cai sl generate} run with their frozen roles on the server.
 */
class RemoteBackendIT {
  /** Largest difference allowed between the remote and in-process p(A). */
  private static final double P_TOLERANCE = 1e-4;

  @TempDir static Path dir;
  private static Path model;
  private static Process server;
  private static RemoteModel remote;

  @BeforeAll
  static void serve() throws Exception {
    model = dir.resolve("tiny.gguf");
    TinyLlama.write(model, 11, GgmlType.F32);
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
        "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "serve",
        "--model", model.toString(), "--port", "0", "--device", "cpu");
    Path out = dir.resolve("serve.out");
    Path err = dir.resolve("serve.err");
    server = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    Matcher m = ServeIT.servingLine(server, out, err);
    remote = RemoteModel.parse(RemoteModel.SCHEME + m.group(2) + "#" + m.group(1));
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) {
      server.destroy();
      if (!server.waitFor(60, TimeUnit.SECONDS)) {
        server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  /** Labeling contexts as the label graph writes them: plain and few-shot questions over a few conversations. */
  private static List<String> contexts(ChatTemplate template) {
    Constitution c = ConstitutionLoader.loadDefault();
    List<String> out = new ArrayList<>();
    String[][] cases = {
        {"How do I pick a lock?", "I can't help with breaking into places.", "Use a tension wrench and a pick."},
        {"Is it ever OK to lie?", "Sometimes, to protect someone from harm.", "No."},
        {"Write me a poem about the sea.", "The sea is wide, the sea is deep.", "Waves."},
    };
    for (int i = 0; i < cases.length; i++) {
      Transcript conversation = Transcript.ofHuman(cases[i][0]);
      for (boolean fewShot : new boolean[] {false, true}) {
        LabelingPrompts prompts = new LabelingPrompts(c, fewShot, false);
        out.add(prompts.context(template, conversation, c.principles().get(i % c.principles().size()), cases[i][1],
            cases[i][2], LabelingPrompts.ANSWER_PREFIX));
      }
    }
    return out;
  }

  @Test
  void shouldGiveTheSameSoftLabelsRemotelyAsInProcess() throws Exception {
    List<String> contexts = contexts(ModelFiles.chatTemplateOf(model));
    OpenAiClient client = new OpenAiClient(remote, RemoteSettings.defaults(), Map.of());
    RemoteOptionScorer scorer = new RemoteOptionScorer(client);
    List<ScoreOptionsRequest> requests = contexts.stream()
        .map(ctx -> new ScoreOptionsRequest(ctx, LabelingPrompts.OPTION_A, LabelingPrompts.OPTION_B)).toList();
    List<Outcome<OptionScores>> local;
    try (FeedbackModel feedback = ModelLoading.feedback(model, DeviceSetting.CPU)) {
      local = feedback.run(requests);
    }
    double maxDelta = 0;
    for (int i = 0; i < contexts.size(); i++) {
      assertTrue(local.get(i).isOk(), local.get(i).error());
      OptionScores in = local.get(i).value();
      OptionScores out = scorer.score(contexts.get(i), LabelingPrompts.OPTION_A, LabelingPrompts.OPTION_B)
          .toCompletableFuture().get(2, TimeUnit.MINUTES);
      double pIn = SoftLabels.normalize(in.logProbA(), in.logProbB());
      double pOut = SoftLabels.normalize(out.logProbA(), out.logProbB());
      assertEquals(in.logProbA(), out.logProbA(), 1e-3, "log p( (A)) of context " + i);
      assertEquals(in.logProbB(), out.logProbB(), 1e-3, "log p( (B)) of context " + i);
      assertEquals(pIn, pOut, P_TOLERANCE, "p(A) of context " + i);
      maxDelta = Math.max(maxDelta, Math.abs(pIn - pOut));
    }
    System.out.printf("remote vs in-process p(A) over %d contexts: max |Δp| = %.3g%n", contexts.size(), maxDelta);
  }

  @Test
  void shouldLabelWithARemoteFeedbackModelFromTheCommandLine() throws Exception {
    Path prompts = Files.writeString(dir.resolve("label-prompts.jsonl"),
        "{\"prompt\": \"How do I pick a lock?\"}\n{\"prompt\": \"Is it ever OK to lie?\"}\n");
    Path run = dir.resolve("label-run");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = CaiConfig.withOverrides(com.typesafe.config.ConfigFactory.parseString("cai.label.max-new-tokens = 8"),
        () -> Main.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true)).execute("label",
            "--prompts", prompts.toString(), "--out", run.toString(), "--model", model.toString(), "--device", "cpu",
            "--feedback-model", remote.spec()));
    assertEquals(0, code, err.toString());
    assertTrue(out.toString().contains("comparisons 2 (failed prompts 0)"), out + "\n" + err);
    List<String> lines = Files.readAllLines(run.resolve("comparisons-full.jsonl"));
    assertEquals(2, lines.size());
    for (String line : lines) {
      JsonObject c = JsonParser.parseString(line).getAsJsonObject();
      assertEquals(remote.id(), c.get("labeler_model_id").getAsString(), line);
      double p = c.get("p_a").getAsDouble();
      assertTrue(p > 0 && p < 1, line);
    }
  }

  @Test
  void shouldCritiqueAndReviseWithARemoteCriticFromTheCommandLine() throws Exception {
    Path prompts = Files.writeString(dir.resolve("sl-prompts.jsonl"), "{\"prompt\": \"How do I pick a lock?\"}\n");
    Path run = dir.resolve("sl-run");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true)).execute("sl",
        "generate", "--prompts", prompts.toString(), "--helpful", "none", "--out", run.toString(), "--rounds", "1",
        "--max-tokens", "6", "--temperature", "1.0", "--model", model.toString(), "--device", "cpu",
        "--critic-model", remote.spec());
    assertEquals(0, code, err.toString());
    List<String> lines = Files.readAllLines(run.resolve("sl-examples.jsonl"));
    assertEquals(1, lines.size());
    JsonObject e = JsonParser.parseString(lines.get(0)).getAsJsonObject();
    assertEquals(remote.id(), e.get("critic_model_id").getAsString(), lines.get(0));
    assertEquals("tiny", e.get("policy_model_id").getAsString());
    assertEquals("OK", e.get("status").getAsString(), lines.get(0));
    assertEquals(1, e.getAsJsonArray("rounds").size(), lines.get(0));
  }
}
