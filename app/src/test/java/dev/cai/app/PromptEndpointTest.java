package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.typesafe.config.ConfigFactory;
import dev.cai.streams.LivePrompts;
import dev.cai.streams.PromptJournal;
import dev.cai.streams.SourcedPrompt;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PromptEndpointTest {
  @TempDir Path dir;
  private ActorSystem<Void> system;
  private PromptJournal journal;
  private PromptEndpoint endpoint;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeEach
  void start() {
    system = ActorSystem.create(Behaviors.empty(), "endpoint-test");
    journal = PromptJournal.inRun(dir, 4);
    PromptEndpoint.Settings defaults = PromptEndpoint.Settings.fromConfig(ConfigFactory.load().getConfig("cai.live.http"));
    endpoint = PromptEndpoint.start(system, journal, new PromptEndpoint.Settings(defaults.host(), defaults.port(), 2048,
        100, 3));
  }

  @AfterEach
  void stop() throws Exception {
    endpoint.close(); // before the journal it appends to
    journal.close();
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private HttpResponse<String> post(String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(endpoint.url() + "/prompts"))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String error(HttpResponse<String> r) {
    return JsonParser.parseString(r.body()).getAsJsonObject().get("error").getAsString();
  }

  @Test
  void shouldListenOnTheLoopbackInterfaceOnAFreePortByDefault() throws Exception {
    assertTrue(endpoint.address().getAddress().isLoopbackAddress(), endpoint.address().toString());
    assertTrue(endpoint.address().getPort() > 0, "port 0 = a free port, reported once bound");
    assertTrue(endpoint.url().startsWith("http://127.0.0.1:"), endpoint.url());
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(endpoint.url() + "/healthz")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode());
    assertEquals("ok", JsonParser.parseString(r.body()).getAsJsonObject().get("status").getAsString());
  }

  @Test
  void shouldAcceptAPostedPromptDurablyAndFeedItToTheLiveSource() throws Exception {
    LinkedBlockingQueue<SourcedPrompt> out = new LinkedBlockingQueue<>();
    LivePrompts.Control feed = LivePrompts.source(List.of(), Optional.of(journal), id -> 0L,
            new LivePrompts.Settings(Duration.ofMillis(20), true, false, 4), e -> { })
        .toMat(Sink.foreach(out::add), Keep.left())
        .run(system);
    HttpResponse<String> r = post("{\"text\": \"How do I hotwire a car?\", \"id\": \"red-1\"}");
    assertEquals(202, r.statusCode(), r.body());
    JsonObject accepted = JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonArray("accepted").get(0)
        .getAsJsonObject();
    assertEquals("red-1", accepted.get("id").getAsString());
    assertEquals(1, accepted.get("offset").getAsLong());
    assertEquals(1, journal.lines(), "on disk before the 202");

    SourcedPrompt p = out.poll(10, TimeUnit.SECONDS);
    assertEquals("How do I hotwire a car?", p.prompt().getText());
    assertEquals("red-1", p.prompt().getId());
    assertEquals(journal.source().id(), p.sourceId());
    assertEquals(1, p.offset());

    HttpResponse<String> jsonl = post("{\"text\": \"second\"}\n\n{\"text\": \"third\", \"helpful\": true}\n");
    assertEquals(202, jsonl.statusCode(), jsonl.body());
    HttpResponse<String> array = post("[{\"text\": \"fourth\"}]");
    assertEquals(202, array.statusCode(), array.body());
    assertEquals("live-prompts.jsonl:4", JsonParser.parseString(array.body()).getAsJsonObject().getAsJsonArray("accepted")
        .get(0).getAsJsonObject().get("id").getAsString());
    List<String> rest = List.of(out.poll(10, TimeUnit.SECONDS), out.poll(10, TimeUnit.SECONDS), out.poll(10, TimeUnit.SECONDS))
        .stream().map(x -> x.prompt().getText() + "@" + x.offset() + (x.prompt().getHelpful() ? "h" : "")).toList();
    assertEquals(List.of("second@2", "third@3h", "fourth@4"), rest);
    feed.stop();
  }

  @Test
  void shouldRefuseBadBodiesWith400AndAClearReasonAndStoreNothing() throws Exception {
    HttpResponse<String> r = post("{\"text\": \"unterminated");
    assertEquals(400, r.statusCode());
    assertTrue(error(r).startsWith("body: not valid JSON"), error(r));
    assertEquals("item 2: \"text\" is empty", error(post("[{\"text\": \"ok\"}, {\"text\": \"  \"}]")));
    assertEquals("unknown field \"prompt\" (allowed: text, id, helpful)", error(post("{\"prompt\": \"hi\"}")));
    assertEquals("line 2: \"helpful\" must be true or false",
        error(post("{\"text\": \"a\"}\n{\"text\": \"b\", \"helpful\": \"yes\"}")));
    assertTrue(error(post("{\"text\": \"" + "x".repeat(101) + "\"}")).startsWith("\"text\" has 101 characters; at most 100"));
    assertEquals("4 prompts in one request; at most 3 (cai.live.http.max-prompts-per-request)",
        error(post("[{\"text\": \"a\"}, {\"text\": \"b\"}, {\"text\": \"c\"}, {\"text\": \"d\"}]")));
    assertTrue(error(post("")).startsWith("empty body"));
    assertEquals(413, post("{\"text\": \"" + "x".repeat(4000) + "\"}").statusCode(), "larger than max-body");
    assertEquals(0, journal.lines());
  }

  @Test
  void shouldAnswerBusyWith503WhenTheBacklogIsFull() throws Exception {
    assertEquals(202, post("[{\"text\": \"a\"}, {\"text\": \"b\"}, {\"text\": \"c\"}]").statusCode());
    HttpResponse<String> r = post("[{\"text\": \"d\"}, {\"text\": \"e\"}]");
    assertEquals(503, r.statusCode());
    assertEquals("1", r.headers().firstValue("Retry-After").orElseThrow());
    assertTrue(error(r).startsWith("busy: 3 submitted prompts wait"), error(r));
  }

  @Test
  void shouldParseTheThreeBodyShapes() {
    assertEquals(1, PromptEndpoint.parseBody("{\n  \"text\": \"pretty\"\n}", 100, 3).size(), "one object over lines");
    assertEquals(2, PromptEndpoint.parseBody("{\"text\": \"a\"}\r\n{\"text\": \"b\"}", 100, 3).size());
    assertEquals(Optional.of("x"), PromptEndpoint.parseBody("[{\"text\": \"a\", \"id\": \"x\"}]", 100, 3).get(0).id());
    assertEquals("expected a JSON object {\"text\": \"...\"}",
        assertThrows(PromptEndpoint.BadRequest.class, () -> PromptEndpoint.parseBody("\"text\"", 100, 3)).getMessage());
    assertTrue(assertThrows(PromptEndpoint.BadRequest.class,
        () -> PromptEndpoint.parseBody("{text: 'lenient'}", 100, 3)).getMessage().startsWith("body: not valid JSON"),
        "strict JSON: no unquoted names");
  }
}
