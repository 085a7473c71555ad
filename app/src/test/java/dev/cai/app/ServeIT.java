package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cai serve} as a separate JVM on a tiny random model with a token file: the README's curl examples (their
 * request bodies read from the README's Serving section, the model name replaced) answer as documented, a request
 * without the token gets 401, and SIGTERM stops the server cleanly.
 */
class ServeIT {
  static final Pattern SERVING = Pattern.compile("^serving (\\S+) on (http://\\S+/v1)$");
  /** A README curl example: its URL and its {@code -d '...'} body. */
  private static final Pattern CURL = Pattern.compile("curl -s (http://127\\.0\\.0\\.1:8000/v1/\\S+) .*-d '(\\{.*\\})'");
  private static final String README_MODEL = "\"model\": \"SmolLM2-135M-Instruct.Q4_1\"";

  @TempDir Path dir;

  @Test
  void shouldAnswerTheReadmeExamplesFromAForkedServerAndStopCleanly() throws Exception {
    List<String[]> examples = readmeExamples();
    assertEquals(2, examples.size(), "the README's Serving section has a chat and an echo example");

    Path model = dir.resolve("tiny.gguf");
    TinyLlama.write(model, 7, GgmlType.F32);
    Path tokenFile = Files.writeString(dir.resolve("token"), "it-secret-42\n");
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
        "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "serve",
        "--model", model.toString(), "--port", "0", "--token-file", tokenFile.toString());
    // output goes to files: a pipe read after the process exits can lose its last lines (the JDK closes it then)
    Path out = dir.resolve("serve.out");
    Path errFile = dir.resolve("serve.err");
    Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(errFile.toFile()).start();
    try {
      Matcher m = servingLine(p, out, errFile);
      assertEquals("tiny", m.group(1));
      String base = m.group(2);
      assertTrue(base.startsWith("http://127.0.0.1:"), base);
      HttpClient http = HttpClient.newHttpClient();

      for (String[] example : examples) {
        String url = example[0].replace("http://127.0.0.1:8000/v1", base);
        String body = example[1].replace(README_MODEL, "\"model\": \"tiny\"");
        HttpResponse<String> unauthorized = http.send(HttpRequest.newBuilder(URI.create(url))
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(401, unauthorized.statusCode(), unauthorized.body());

        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(1))
            .header("Content-Type", "application/json").header("Authorization", "Bearer it-secret-42")
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        JsonObject o = JsonParser.parseString(r.body()).getAsJsonObject();
        JsonObject choice = o.getAsJsonArray("choices").get(0).getAsJsonObject();
        JsonObject usage = o.getAsJsonObject("usage");
        if (url.endsWith("/chat/completions")) {
          assertEquals("chat.completion", o.get("object").getAsString());
          assertEquals("assistant", choice.getAsJsonObject("message").get("role").getAsString());
          assertTrue(usage.get("completion_tokens").getAsInt() >= 1 && usage.get("completion_tokens").getAsInt() <= 30);
        } else {
          String prompt = JsonParser.parseString(body).getAsJsonObject().get("prompt").getAsString();
          assertEquals(prompt, choice.get("text").getAsString());
          JsonArray lps = choice.getAsJsonObject("logprobs").getAsJsonArray("token_logprobs");
          assertEquals(usage.get("prompt_tokens").getAsInt(), lps.size());
          assertTrue(lps.get(0).isJsonNull());
          for (int j = 1; j < lps.size(); j++) {
            assertTrue(lps.get(j).getAsDouble() < 0, "log-prob of prompt token " + j);
          }
          assertEquals(0, usage.get("completion_tokens").getAsInt());
        }
      }
    } finally {
      p.destroy(); // SIGTERM, as Ctrl-C: the coordinated shutdown unbinds and stops the model
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
    assertFalse(p.isAlive());
    String err = Files.readString(errFile);
    assertTrue(err.contains("stopping: finishing the requests in flight"), "exit " + p.exitValue() + ": " + err);
    assertFalse(err.contains("it-secret-42") || Files.readString(out).contains("it-secret-42"), "the token is never printed");
  }

  /** URL and body of each curl example in the README's Serving section. */
  private static List<String[]> readmeExamples() throws IOException {
    String readme = Files.readString(Path.of(System.getProperty("user.dir")).getParent().resolve("README.md"));
    String section = readme.substring(readme.indexOf("## Serving"), readme.indexOf("\n## ", readme.indexOf("## Serving")));
    String joined = section.replace("\\\n", " "); // shell line continuations
    List<String[]> out = new ArrayList<>();
    for (String line : joined.split("\n")) {
      Matcher m = CURL.matcher(line.strip());
      if (m.find()) {
        assertTrue(m.group(2).contains(README_MODEL), "the README example names the embedded model: " + line);
        out.add(new String[] {m.group(1), m.group(2)});
      }
    }
    return out;
  }

  /** The "serving ID on URL" line of a forked {@code cai serve}, once it prints it (2 minutes at most). */
  static Matcher servingLine(Process p, Path out, Path err) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (System.nanoTime() < deadline) {
      for (String line : Files.readAllLines(out)) {
        Matcher m = SERVING.matcher(line);
        if (m.matches()) {
          return m;
        }
      }
      if (!p.isAlive()) {
        throw new AssertionError("cai serve exited with " + p.exitValue() + ": " + Files.readString(err));
      }
      Thread.sleep(100);
    }
    throw new AssertionError("cai serve printed no serving line in 2 minutes: " + Files.readString(err));
  }
}
