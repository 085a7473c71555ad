package dev.cai.streams.remote;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A scripted OpenAI-compatible server on 127.0.0.1 for client tests: records every request, answers with what its
 * handler returns (after an optional delay) and tracks how many requests were in flight at once.
 */
final class StubOpenAiServer implements AutoCloseable {
  /** One request as received. */
  record Request(String path, Headers headers, JsonObject body) {}

  /** What to answer. */
  record Reply(int status, String body, long delayMs, Map<String, String> headers) {
    static Reply ok(String body) {
      return new Reply(200, body, 0, Map.of());
    }

    static Reply status(int status, String body) {
      return new Reply(status, body, 0, Map.of());
    }

    Reply delayed(long ms) {
      return new Reply(status, body, ms, headers);
    }
  }

  /** Answers a request; {@code n} counts requests from 0. */
  interface Handler {
    Reply handle(Request request, int n) throws Exception;
  }

  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final List<Request> requests = new ArrayList<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger maxInFlight = new AtomicInteger();

  StubOpenAiServer(Handler handler) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(executor);
    server.createContext("/v1/", exchange -> serve(exchange, handler));
    server.start();
  }

  private void serve(HttpExchange exchange, Handler handler) throws IOException {
    int now = inFlight.incrementAndGet();
    maxInFlight.accumulateAndGet(now, Math::max);
    boolean counted = true;
    try (exchange) {
      String text = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      Request request = new Request(exchange.getRequestURI().getPath(), exchange.getRequestHeaders(),
          JsonParser.parseString(text).getAsJsonObject());
      int n;
      synchronized (requests) {
        n = requests.size();
        requests.add(request);
      }
      Reply reply;
      try {
        reply = handler.handle(request, n);
      } catch (Exception e) {
        reply = Reply.status(500, "{\"error\": {\"message\": \"stub handler failed: " + e + "\"}}");
      }
      if (reply.delayMs() > 0) {
        Thread.sleep(reply.delayMs());
      }
      reply.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      byte[] out = reply.body().getBytes(StandardCharsets.UTF_8);
      inFlight.decrementAndGet(); // before the reply goes out: the client may send its next request at once
      counted = false;
      exchange.sendResponseHeaders(reply.status(), out.length == 0 ? -1 : out.length);
      if (out.length > 0) {
        try (OutputStream os = exchange.getResponseBody()) {
          os.write(out);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      if (counted) {
        inFlight.decrementAndGet();
      }
    }
  }

  int port() {
    return server.getAddress().getPort();
  }

  /** The base URL, e.g. {@code http://127.0.0.1:PORT/v1}. */
  String baseUrl() {
    return "http://127.0.0.1:" + port() + "/v1";
  }

  /** A remote model on this server; {@code params} is appended to the spec (e.g. {@code ?api-key-env=K}). */
  RemoteModel model(String name, String params) {
    return RemoteModel.parse("openai:" + baseUrl() + "#" + name + params);
  }

  List<Request> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  int maxInFlight() {
    return maxInFlight.get();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
