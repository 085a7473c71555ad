package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.streams.remote.RemoteModel;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Model specs on the command line: remote models where the frozen roles take them, clear errors elsewhere. */
class RemoteModelOptionsTest {
  @TempDir Path dir;

  private String fails(String... args) {
    StringWriter err = new StringWriter();
    int code = Main.commandLine().setOut(new PrintWriter(new StringWriter())).setErr(new PrintWriter(err, true))
        .execute(args);
    assertEquals(1, code, err.toString());
    return err.toString();
  }

  @Test
  void shouldRefuseAMalformedRemoteSpecBeforeAnythingRuns() throws Exception {
    Path prompts = Files.writeString(dir.resolve("p.jsonl"), "{\"prompt\": \"hi\"}\n");
    String local = dir.resolve("policy.gguf").toString();
    String err = fails("label", "--prompts", prompts.toString(), "--out", dir.resolve("run").toString(), "--model", local,
        "--feedback-model", "openai:http://127.0.0.1:8000/v1");
    assertTrue(err.contains("error: model spec 'openai:http://127.0.0.1:8000/v1': no #MODEL after the base URL; the syntax is "
        + RemoteModel.SYNTAX), err);
    err = fails("sl", "generate", "--prompts", prompts.toString(), "--out", dir.resolve("run2").toString(), "--model", local,
        "--critic-model", "vllm://127.0.0.1:8000/v1#m");
    assertTrue(err.contains("error: model spec 'vllm://127.0.0.1:8000/v1#m': unknown backend 'vllm'"), err);
    assertTrue(Files.notExists(dir.resolve("run").resolve("store")), "no store was opened");
    assertTrue(Files.notExists(dir.resolve("run2").resolve("store")), "no store was opened");
  }

  @Test
  void shouldRefuseARemoteModelWhereTheCommandLoadsTheModelItself() {
    String err = fails("generate", "--model", "openai:http://127.0.0.1:8000/v1#m", "--prompt", "hi");
    assertTrue(err.contains("error: --model openai:http://127.0.0.1:8000/v1#m: this command needs a local model"), err);
  }

  @Test
  void shouldRefuseAnApiKeyVariableThatIsNotSet() throws Exception {
    Path prompts = Files.writeString(dir.resolve("p.jsonl"), "{\"prompt\": \"hi\"}\n");
    String err = fails("sl", "generate", "--prompts", prompts.toString(), "--out", dir.resolve("run").toString(),
        "--helpful", "none", "--model", "openai:http://127.0.0.1:1/v1#m?api-key-env=CAI_TEST_UNSET_KEY_VARIABLE");
    assertTrue(err.contains("the environment variable CAI_TEST_UNSET_KEY_VARIABLE named by api-key-env is not set"), err);
  }
}
