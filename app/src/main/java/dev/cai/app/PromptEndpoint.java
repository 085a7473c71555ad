package dev.cai.app;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.typesafe.config.Config;
import dev.cai.streams.PromptJournal;
import dev.cai.streams.PromptJournal.Submission;
import java.io.IOException;
import java.io.StringReader;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/**
 * The HTTP door of a live run: {@code POST /prompts} appends prompts to the run's {@link PromptJournal}
 * (durably, before answering 202 with their ids and offsets), which the run follows; {@code GET /healthz}
 * says it is up and how many submitted prompts wait. Listens on 127.0.0.1 unless configured otherwise
 * ({@code cai.live.http}). A body is one JSON object {@code {"text": ..., "id": ..., "helpful": ...}} (id and
 * helpful optional), a JSON array of them, or JSONL (one per line); an invalid one is refused whole with 400
 * and the reason, a full backlog with 503.
 */
final class PromptEndpoint implements AutoCloseable {
  private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();
  private static final Set<String> FIELDS = Set.of("text", "id", "helpful");
  private static final int MAX_ID_CHARS = 256;

  /**
   * Where and how much the endpoint accepts.
   *
   * @param host interface to listen on (127.0.0.1 = this machine only)
   * @param port TCP port; 0 = a free one (see {@link #address()})
   * @param maxBodyBytes largest request body; larger ones get 413
   * @param maxPromptChars longest prompt text
   * @param maxPromptsPerRequest most prompts in one request
   */
  record Settings(String host, int port, long maxBodyBytes, int maxPromptChars, int maxPromptsPerRequest) {
    Settings {
      if (host == null || host.isBlank() || port < 0 || port > 65535 || maxBodyBytes < 1 || maxPromptChars < 1
          || maxPromptsPerRequest < 1) {
        throw new IllegalArgumentException("prompt endpoint settings need a host, a port in 0..65535 and positive limits; got "
            + host + ", " + port + ", " + maxBodyBytes + ", " + maxPromptChars + ", " + maxPromptsPerRequest);
      }
    }

    /** From {@code cai.live.http} (see the app's reference.conf). */
    static Settings fromConfig(Config http) {
      return new Settings(http.getString("host"), http.getInt("port"), http.getBytes("max-body"),
          http.getInt("max-prompt-chars"), http.getInt("max-prompts-per-request"));
    }
  }

  /** A request body that is not a valid list of prompts; the message says why. */
  static final class BadRequest extends RuntimeException {
    BadRequest(String message) {
      super(message, null, false, false);
    }
  }

  private final PromptJournal journal;
  private final ServerBinding binding;

  private PromptEndpoint(PromptJournal journal, ServerBinding binding) {
    this.journal = journal;
    this.binding = binding;
  }

  /**
   * Binds the endpoint (waiting up to 30 s) and returns it serving; {@link #close()} unbinds it. The journal
   * stays the caller's to close (after this endpoint).
   *
   * @throws IllegalStateException naming the address when it cannot listen there
   */
  static PromptEndpoint start(ActorSystem<?> system, PromptJournal journal, Settings s) {
    Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    Route route = new Routes(journal, s, blocking).route();
    try {
      ServerBinding b = Http.get(system).newServerAt(s.host(), s.port()).bind(route).toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
      return new PromptEndpoint(journal, b);
    } catch (ExecutionException | TimeoutException e) {
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      throw new IllegalStateException("The prompt endpoint cannot listen on " + s.host() + ":" + s.port() + " (cai.live.http): "
          + Errors.describe(cause), cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while binding the prompt endpoint", e);
    }
  }

  /** The bound address (the real port when configured as 0). */
  InetSocketAddress address() {
    return binding.localAddress();
  }

  /** {@code http://HOST:PORT}. */
  String url() {
    InetSocketAddress a = address();
    String host = a.getAddress().getHostAddress();
    return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
  }

  /** One line for the console: where to POST. */
  String describe() {
    return "prompt endpoint: POST " + url() + "/prompts (JSON {\"text\": ...}, an array of them, or JSONL) -> "
        + journal.file() + "; GET " + url() + "/healthz";
  }

  /** Stops accepting connections and finishes requests in flight (5 s at most). */
  @Override
  public void close() {
    try {
      binding.terminate(Duration.ofSeconds(5)).toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      // the system's termination closes what is left
    }
  }

  /** The routes: POST /prompts and GET /healthz. */
  private static final class Routes extends AllDirectives {
    private final PromptJournal journal;
    private final Settings settings;
    private final Executor blocking;

    Routes(PromptJournal journal, Settings settings, Executor blocking) {
      this.journal = journal;
      this.settings = settings;
      this.blocking = blocking;
    }

    Route route() {
      return concat(
          path("prompts", () -> post(() -> withSizeLimit(settings.maxBodyBytes(),
              () -> entity(Unmarshaller.entityToString(), body -> completeWithFuture(
                  CompletableFuture.supplyAsync(() -> submit(body), blocking)))))),
          path("healthz", () -> get(() -> {
            JsonObject o = new JsonObject();
            o.addProperty("status", "ok");
            o.addProperty("pending", journal.pending());
            o.addProperty("lines", journal.lines());
            return complete(json(StatusCodes.OK, o));
          })));
    }

    /** Appends (fsync: runs on the blocking dispatcher) and answers 202, 400 or 503. */
    private HttpResponse submit(String body) {
      List<Submission> prompts;
      try {
        prompts = parseBody(body, settings.maxPromptChars(), settings.maxPromptsPerRequest());
      } catch (BadRequest e) {
        return error(StatusCodes.BAD_REQUEST, e.getMessage());
      }
      PromptJournal.Result r;
      try {
        r = journal.append(prompts);
      } catch (IllegalArgumentException e) {
        return error(StatusCodes.BAD_REQUEST, e.getMessage());
      } catch (RuntimeException e) {
        return error(StatusCodes.INTERNAL_SERVER_ERROR, "cannot store the prompts: " + Errors.describe(e));
      }
      if (r instanceof PromptJournal.Busy busy) {
        return error(StatusCodes.SERVICE_UNAVAILABLE, busy.message()).addHeader(RetryAfter.create(1L));
      }
      JsonArray accepted = new JsonArray();
      for (PromptJournal.Accepted a : ((PromptJournal.Appended) r).prompts()) {
        JsonObject o = new JsonObject();
        o.addProperty("id", a.id());
        o.addProperty("offset", a.offset());
        accepted.add(o);
      }
      JsonObject o = new JsonObject();
      o.add("accepted", accepted);
      o.addProperty("file", journal.file().toString());
      return json(StatusCodes.ACCEPTED, o);
    }
  }

  private static HttpResponse error(StatusCode status, String message) {
    JsonObject o = new JsonObject();
    o.addProperty("error", message);
    return json(status, o);
  }

  private static HttpResponse json(StatusCode status, JsonObject body) {
    return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, GSON.toJson(body) + "\n");
  }

  /**
   * The prompts of a request body: one JSON object, a JSON array of objects, or JSONL (one object per line).
   *
   * @throws BadRequest naming the item (or line) and the problem
   */
  static List<Submission> parseBody(String body, int maxPromptChars, int maxPrompts) {
    String trimmed = body.strip();
    if (trimmed.isEmpty()) {
      throw new BadRequest("empty body: send {\"text\": \"...\"}, a JSON array of such objects, or JSONL");
    }
    List<Submission> out = new ArrayList<>();
    if (trimmed.startsWith("[")) {
      JsonElement e = parseStrict(trimmed, "body");
      JsonArray items = e.getAsJsonArray();
      if (items.isEmpty()) {
        throw new BadRequest("empty array: no prompts");
      }
      checkCount(items.size(), maxPrompts);
      for (int i = 0; i < items.size(); i++) {
        out.add(submission(items.get(i), "item " + (i + 1) + ": ", maxPromptChars));
      }
      return out;
    }
    List<String> lines = trimmed.lines().filter(l -> !l.isBlank()).toList();
    JsonElement whole;
    try {
      whole = parseStrict(trimmed, "body");
    } catch (BadRequest e) {
      if (lines.size() == 1) {
        throw e;
      }
      whole = null; // not one JSON value: JSONL
    }
    if (whole != null) {
      out.add(submission(whole, "", maxPromptChars));
      return out;
    }
    checkCount(lines.size(), maxPrompts);
    for (int i = 0; i < lines.size(); i++) {
      String where = "line " + (i + 1) + ": ";
      out.add(submission(parseStrict(lines.get(i), where.substring(0, where.length() - 2)), where, maxPromptChars));
    }
    return out;
  }

  private static void checkCount(int n, int maxPrompts) {
    if (n > maxPrompts) {
      throw new BadRequest(n + " prompts in one request; at most " + maxPrompts + " (cai.live.http.max-prompts-per-request)");
    }
  }

  /** One strict JSON value (no comments, no unquoted strings, nothing after it). */
  private static JsonElement parseStrict(String text, String where) {
    try {
      JsonReader r = new JsonReader(new StringReader(text));
      r.setStrictness(Strictness.STRICT);
      JsonElement e = JsonParser.parseReader(r);
      if (r.peek() != JsonToken.END_DOCUMENT) {
        throw new BadRequest(where + ": not valid JSON: more text after the first value");
      }
      return e;
    } catch (JsonParseException | IOException | IllegalStateException e) {
      throw new BadRequest(where + ": not valid JSON: " + e.getMessage());
    }
  }

  private static Submission submission(JsonElement e, String where, int maxPromptChars) {
    if (!e.isJsonObject()) {
      throw new BadRequest(where + "expected a JSON object {\"text\": \"...\"}");
    }
    JsonObject o = e.getAsJsonObject();
    for (String key : o.keySet()) {
      if (!FIELDS.contains(key)) {
        throw new BadRequest(where + "unknown field \"" + key + "\" (allowed: text, id, helpful)");
      }
    }
    JsonElement t = o.get("text");
    if (t == null || !t.isJsonPrimitive() || !t.getAsJsonPrimitive().isString()) {
      throw new BadRequest(where + "\"text\" must be a string");
    }
    String text = t.getAsString();
    if (text.isBlank()) {
      throw new BadRequest(where + "\"text\" is empty");
    }
    if (text.length() > maxPromptChars) {
      throw new BadRequest(where + "\"text\" has " + text.length() + " characters; at most " + maxPromptChars
          + " (cai.live.http.max-prompt-chars)");
    }
    Optional<String> id = Optional.empty();
    if (o.has("id")) {
      JsonElement i = o.get("id");
      if (!i.isJsonPrimitive() || !i.getAsJsonPrimitive().isString() || i.getAsString().isBlank()
          || i.getAsString().length() > MAX_ID_CHARS) {
        throw new BadRequest(where + "\"id\" must be a non-empty string of at most " + MAX_ID_CHARS + " characters");
      }
      id = Optional.of(i.getAsString());
    }
    Optional<Boolean> helpful = Optional.empty();
    if (o.has("helpful")) {
      JsonElement h = o.get("helpful");
      if (!h.isJsonPrimitive() || !h.getAsJsonPrimitive().isBoolean()) {
        throw new BadRequest(where + "\"helpful\" must be true or false");
      }
      helpful = Optional.of(h.getAsBoolean());
    }
    return new Submission(text, id, helpful);
  }
}
