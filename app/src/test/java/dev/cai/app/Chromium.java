package dev.cai.app;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * A real headless Chromium driven through the Chrome DevTools Protocol over a JDK WebSocket, for tests of the
 * dashboard page: navigate, evaluate JavaScript, wait for a condition, take a screenshot, and collect the page's
 * console errors and uncaught exceptions. The binary is {@code chromium} on the PATH, or {@code $CAI_CHROMIUM}.
 *
 * @see <a href="https://chromedevtools.github.io/devtools-protocol/">Chrome DevTools Protocol</a>
 */
final class Chromium implements AutoCloseable {
  /** Viewport of the page (and so of screenshots). */
  static final int WIDTH = 1400;
  static final int HEIGHT = 1000;

  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);
  private static final Pattern LISTENING = Pattern.compile("DevTools listening on (ws://[^\\s/]+:(\\d+)/\\S*)");
  private static final Gson GSON = new Gson();

  private final Process process;
  private final Path profile;
  private final Deque<String> stderrTail = new ArrayDeque<>();
  private final HttpClient http = HttpClient.newHttpClient();
  private final WebSocket socket;
  private final AtomicInteger ids = new AtomicInteger();
  private final Map<Integer, CompletableFuture<JsonObject>> pending = new ConcurrentHashMap<>();
  private final List<String> errors = new CopyOnWriteArrayList<>();
  private volatile CompletableFuture<Void> loadEvent = new CompletableFuture<>();

  /** The Chromium binary: {@code $CAI_CHROMIUM} when set, else {@code chromium} found on the PATH. */
  static Optional<Path> binary() {
    String override = System.getenv("CAI_CHROMIUM");
    if (override != null && !override.isBlank()) {
      Path p = Path.of(override);
      return Files.isExecutable(p) ? Optional.of(p) : Optional.empty();
    }
    String path = System.getenv().getOrDefault("PATH", "");
    for (String dir : path.split(java.io.File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(dir, "chromium");
      if (Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /** Whether a Chromium binary is there to launch. */
  static boolean available() {
    return binary().isPresent();
  }

  /**
   * For tests that need the browser: returns when Chromium is there; otherwise fails when the environment sets
   * {@code CAI_REQUIRE_BROWSER=1} (CI with a browser) and skips the test when it does not.
   */
  static void assumeAvailable() {
    if (available()) {
      return;
    }
    String override = System.getenv("CAI_CHROMIUM");
    String how = override != null && !override.isBlank()
        ? "CAI_CHROMIUM=" + override + " is not an executable file"
        : "install the Debian package 'chromium' or set CAI_CHROMIUM to a Chromium binary";
    if ("1".equals(System.getenv("CAI_REQUIRE_BROWSER"))) {
      Assertions.fail("CAI_REQUIRE_BROWSER=1 but no Chromium was found: " + how);
    }
    Assumptions.abort("no Chromium on this machine, browser test skipped (" + how + ")");
  }

  /** Launches a headless Chromium on about:blank with a fresh temporary profile and attaches to its page. */
  static Chromium launch() throws IOException {
    Path bin = binary().orElseThrow(() -> new IllegalStateException(
        "no Chromium: install the Debian package 'chromium' or set CAI_CHROMIUM to the binary"));
    return new Chromium(bin);
  }

  private Chromium(Path bin) throws IOException {
    profile = Files.createTempDirectory("cai-chromium-");
    process = new ProcessBuilder(bin.toString(), "--headless=new", "--no-sandbox", "--disable-gpu",
        "--no-first-run", "--no-default-browser-check", "--remote-debugging-port=0",
        "--user-data-dir=" + profile, "about:blank")
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    WebSocket ws = null;
    try {
      int port = awaitDevToolsPort();
      ws = http.newWebSocketBuilder()
          .connectTimeout(START_TIMEOUT)
          .buildAsync(URI.create(pageWebSocketUrl(port)), new Listener())
          .get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      destroy();
      throw new IOException("interrupted while starting Chromium", e);
    } catch (ExecutionException | TimeoutException | RuntimeException | IOException e) {
      destroy();
      throw new IOException("Chromium did not start (" + bin + "): " + e + "\nstderr tail:\n" + stderrTail(), e);
    }
    socket = ws;
    send("Runtime.enable", new JsonObject());
    send("Log.enable", new JsonObject());
    send("Page.enable", new JsonObject());
    viewport(WIDTH, HEIGHT);
  }

  /** Sets the page's viewport (and so the screenshot size); launch sets {@value #WIDTH}x{@value #HEIGHT}. */
  void viewport(int width, int height) {
    JsonObject metrics = new JsonObject();
    metrics.addProperty("width", width);
    metrics.addProperty("height", height);
    metrics.addProperty("deviceScaleFactor", 1);
    metrics.addProperty("mobile", false);
    send("Emulation.setDeviceMetricsOverride", metrics);
  }

  /** Reads stderr (on a daemon thread that keeps draining it) until Chromium prints its DevTools port. */
  private int awaitDevToolsPort() throws InterruptedException, ExecutionException, TimeoutException {
    CompletableFuture<Integer> port = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          synchronized (stderrTail) {
            stderrTail.addLast(line);
            if (stderrTail.size() > 40) {
              stderrTail.removeFirst();
            }
          }
          Matcher m = LISTENING.matcher(line);
          if (m.find()) {
            port.complete(Integer.parseInt(m.group(2)));
          }
        }
        port.completeExceptionally(new IOException("Chromium exited before printing its DevTools port"));
      } catch (IOException e) {
        port.completeExceptionally(e);
      }
    }, "chromium-stderr");
    reader.setDaemon(true);
    reader.start();
    return port.get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
  }

  /** The WebSocket address of the page target (the about:blank tab), from {@code /json/list}. */
  private String pageWebSocketUrl(int port) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    String body = "";
    while (System.nanoTime() < deadline) {
      HttpResponse<String> response = http.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list")).build(),
          HttpResponse.BodyHandlers.ofString());
      body = response.body();
      for (JsonElement target : JsonParser.parseString(body).getAsJsonArray()) {
        JsonObject t = target.getAsJsonObject();
        if ("page".equals(t.get("type").getAsString()) && t.has("webSocketDebuggerUrl")) {
          return t.get("webSocketDebuggerUrl").getAsString();
        }
      }
      Thread.sleep(100);
    }
    throw new IOException("no page target in /json/list: " + body);
  }

  /** Loads a URL and waits until the document has loaded. */
  void navigate(String url) {
    CompletableFuture<Void> loaded = new CompletableFuture<>();
    loadEvent = loaded;
    JsonObject params = new JsonObject();
    params.addProperty("url", url);
    JsonObject result = send("Page.navigate", params);
    if (result.has("errorText")) {
      throw new IllegalStateException("navigation to " + url + " failed: " + result.get("errorText").getAsString());
    }
    try {
      loaded.get(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted loading " + url, e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(url + " did not finish loading in " + COMMAND_TIMEOUT + "; page errors: "
          + errors, e);
    }
  }

  /**
   * Evaluates a JavaScript expression in the page (awaiting a promise) and returns its JSON value as Java:
   * null, Boolean, Double, String, List or Map.
   *
   * @throws IllegalStateException with the exception text when the expression throws
   */
  Object evaluate(String expression) {
    JsonObject params = new JsonObject();
    params.addProperty("expression", expression);
    params.addProperty("returnByValue", true);
    params.addProperty("awaitPromise", true);
    JsonObject result = send("Runtime.evaluate", params);
    if (result.has("exceptionDetails")) {
      throw new IllegalStateException("JavaScript threw evaluating `" + expression + "`: "
          + exceptionText(result.getAsJsonObject("exceptionDetails")));
    }
    JsonObject value = result.getAsJsonObject("result");
    return value.has("value") ? GSON.fromJson(value.get("value"), Object.class) : null;
  }

  /** Polls a JavaScript boolean expression until it is true; on timeout fails with the expression and last value. */
  void waitFor(String expression, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Object last;
    do {
      try {
        last = evaluate(expression);
        if (Boolean.TRUE.equals(last)) {
          return;
        }
      } catch (IllegalStateException e) {
        last = e.getMessage();
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted waiting for " + expression, e);
      }
    } while (System.nanoTime() < deadline);
    throw new AssertionError("timed out after " + timeout + " waiting for `" + expression + "`; last value: "
        + last + "; page errors: " + errors);
  }

  /** A PNG of the viewport. */
  byte[] screenshot() {
    JsonObject params = new JsonObject();
    params.addProperty("format", "png");
    return Base64.getDecoder().decode(send("Page.captureScreenshot", params).get("data").getAsString());
  }

  /** Console errors, failed resource loads and uncaught exceptions seen so far, one line each. */
  List<String> errors() {
    return List.copyOf(errors);
  }

  /** Sends one DevTools command and waits for its result. */
  JsonObject send(String method, JsonObject params) {
    int id = ids.incrementAndGet();
    JsonObject message = new JsonObject();
    message.addProperty("id", id);
    message.addProperty("method", method);
    message.add("params", params);
    CompletableFuture<JsonObject> reply = new CompletableFuture<>();
    pending.put(id, reply);
    try {
      synchronized (socket) { // a JDK WebSocket allows one outstanding send at a time
        socket.sendText(GSON.toJson(message), true).get(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      }
      JsonObject response = reply.get(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      if (response.has("error")) {
        throw new IllegalStateException("DevTools " + method + " failed: " + response.get("error"));
      }
      return response.has("result") ? response.getAsJsonObject("result") : new JsonObject();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted during DevTools " + method, e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("DevTools " + method + " got no answer: " + e + "\nstderr tail:\n"
          + stderrTail(), e);
    } finally {
      pending.remove(id);
    }
  }

  private void onMessage(String text) {
    JsonObject message = JsonParser.parseString(text).getAsJsonObject();
    if (message.has("id")) {
      CompletableFuture<JsonObject> reply = pending.get(message.get("id").getAsInt());
      if (reply != null) {
        reply.complete(message);
      }
      return;
    }
    String method = message.has("method") ? message.get("method").getAsString() : "";
    JsonObject params = message.has("params") ? message.getAsJsonObject("params") : new JsonObject();
    switch (method) {
      case "Page.loadEventFired" -> loadEvent.complete(null);
      case "Runtime.exceptionThrown" -> errors.add("uncaught: "
          + exceptionText(params.getAsJsonObject("exceptionDetails")));
      case "Runtime.consoleAPICalled" -> {
        String type = params.get("type").getAsString();
        if (type.equals("error") || type.equals("assert")) {
          errors.add("console." + type + ": " + consoleArgs(params.getAsJsonArray("args")));
        }
      }
      case "Log.entryAdded" -> {
        JsonObject entry = params.getAsJsonObject("entry");
        if ("error".equals(entry.get("level").getAsString())) {
          errors.add("log: " + entry.get("text").getAsString()
              + (entry.has("url") ? " (" + entry.get("url").getAsString() + ")" : ""));
        }
      }
      default -> { }
    }
  }

  private static String exceptionText(JsonObject details) {
    JsonObject exception = details.has("exception") ? details.getAsJsonObject("exception") : null;
    String text = exception != null && exception.has("description")
        ? exception.get("description").getAsString()
        : details.get("text").getAsString();
    String where = details.has("url") ? " at " + details.get("url").getAsString() + ":"
        + (details.get("lineNumber").getAsInt() + 1) : "";
    return text + where;
  }

  private static String consoleArgs(JsonArray args) {
    List<String> parts = new ArrayList<>();
    for (JsonElement a : args) {
      JsonObject arg = a.getAsJsonObject();
      parts.add(arg.has("value") ? arg.get("value").toString()
          : arg.has("description") ? arg.get("description").getAsString() : arg.get("type").getAsString());
    }
    return String.join(" ", parts);
  }

  private String stderrTail() {
    synchronized (stderrTail) {
      return String.join("\n", stderrTail);
    }
  }

  /** The Chromium process and its children, now. */
  List<ProcessHandle> processTree() {
    return Stream.concat(Stream.of(process.toHandle()), process.descendants()).toList();
  }

  /** The temporary profile directory (deleted by {@link #close()}). */
  Path profile() {
    return profile;
  }

  /** Closes the DevTools connection, kills Chromium with all its child processes, then deletes the profile. */
  @Override
  public void close() {
    if (socket != null) {
      socket.abort();
    }
    destroy();
  }

  // Order: children are listed before the parent dies (afterwards they are re-parented and lost), all get
  // SIGTERM, stragglers SIGKILL; the profile is deleted only once nothing writes to it.
  private void destroy() {
    List<ProcessHandle> tree = processTree();
    tree.forEach(ProcessHandle::destroy);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    for (ProcessHandle p : tree) {
      try {
        p.onExit().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      } catch (ExecutionException | TimeoutException e) {
        // fall through to the forced kill
      }
    }
    tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    deleteProfile();
  }

  private void deleteProfile() {
    try (Stream<Path> files = Files.walk(profile)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException | UncheckedIOException e) {
      System.err.println("could not delete the Chromium profile " + profile + ": " + e);
    }
  }

  /** Collects a text message from its fragments and hands it to {@link #onMessage}. */
  private final class Listener implements WebSocket.Listener {
    private final StringBuilder text = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      text.append(data);
      if (last) {
        String message = text.toString();
        text.setLength(0);
        try {
          onMessage(message);
        } catch (RuntimeException e) { // a message we cannot read must not stop the listener
          errors.add("unreadable DevTools message (" + e + "): " + message);
        }
      }
      webSocket.request(1);
      return null;
    }
  }
}
