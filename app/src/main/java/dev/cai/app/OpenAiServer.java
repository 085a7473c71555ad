package dev.cai.app;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.cai.actors.CompletionReply;
import dev.cai.actors.CompletionRequest;
import dev.cai.actors.ModelActor;
import dev.cai.runtime.Failures;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.pattern.StatusReply;

/**
 * The OpenAI-compatible HTTP API of {@code cai serve} (Pekko HTTP): {@code GET /v1/models},
 * {@code POST /v1/completions}, {@code POST /v1/chat/completions}, and {@code GET /health} (no authentication). Every
 * completion is asked of one {@link ModelActor} owning a {@link dev.cai.actors.CompletionModel}, so requests that
 * arrive together run as one batch on the model dispatcher and no Pekko thread waits for the model. Errors are
 * OpenAI's error objects: 400 for a bad body or field, 401 without the bearer token (when one is set), 404 for another
 * model or path, 413 for a body over the limit, 429 when too many completions are in flight, 500 when the model fails.
 */
final class OpenAiServer implements AutoCloseable {
  private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().serializeNulls().create();

  /**
   * Where and how much the server accepts ({@code cai.serve}, see the app's reference.conf).
   *
   * @param host interface to listen on (127.0.0.1 = this machine only)
   * @param port TCP port; 0 = a free one (see {@link #url()})
   * @param maxBodyBytes largest request body; larger ones get 413
   * @param maxPromptsPerRequest most prompts in one completions request
   * @param maxInFlight most prompts being completed at once; more get 429
   * @param chatMaxTokens max_tokens of a chat completion that gives none
   * @param requestTimeout how long a request may wait for the model
   */
  record Settings(String host, int port, long maxBodyBytes, int maxPromptsPerRequest, int maxInFlight, int chatMaxTokens,
      Duration requestTimeout) {
    Settings {
      if (host == null || host.isBlank()) {
        throw new IllegalArgumentException("cai.serve.host must not be empty");
      }
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("cai.serve.port must be in 0..65535, got " + port);
      }
      if (maxBodyBytes < 1 || maxPromptsPerRequest < 1 || maxInFlight < 1 || chatMaxTokens < 1) {
        throw new IllegalArgumentException("cai.serve.max-body, max-prompts-per-request, max-in-flight and "
            + "chat-max-tokens must be positive, got " + maxBodyBytes + ", " + maxPromptsPerRequest + ", " + maxInFlight
            + ", " + chatMaxTokens);
      }
      if (requestTimeout.isNegative() || requestTimeout.isZero()) {
        throw new IllegalArgumentException("cai.serve.request-timeout must be positive, got " + requestTimeout);
      }
    }

    /** From {@code cai.serve}. */
    static Settings fromConfig(Config serve) {
      return new Settings(serve.getString("host"), serve.getInt("port"), serve.getBytes("max-body"),
          serve.getInt("max-prompts-per-request"), serve.getInt("max-in-flight"), serve.getInt("chat-max-tokens"),
          serve.getDuration("request-timeout"));
    }

    Settings withAddress(String h, int p) {
      return new Settings(h, p, maxBodyBytes, maxPromptsPerRequest, maxInFlight, chatMaxTokens, requestTimeout);
    }
  }

  private final ServerBinding binding;

  private OpenAiServer(ServerBinding binding) {
    this.binding = binding;
  }

  /**
   * Binds the API (waiting up to 30 s) in front of {@code model}; {@link #close()} unbinds it.
   *
   * @param modelId the name clients give as {@code model}
   * @param token the bearer token every /v1 request must carry, if any
   * @throws IllegalStateException naming the address when it cannot listen there
   */
  static OpenAiServer start(ActorSystem<?> system, ActorRef<ModelActor.Command<CompletionRequest, CompletionReply>> model,
      String modelId, Optional<String> token, Settings s) {
    Route route = new Routes(system, model, modelId, token, s).route();
    // the model may take a while: Pekko's own request timeout (default 20 s) must not answer first
    Config timeouts = ConfigFactory.parseString("pekko.http.server.request-timeout = "
        + (s.requestTimeout().toMillis() + 5_000) + "ms\npekko.http.server.idle-timeout = "
        + (s.requestTimeout().toMillis() + 60_000) + "ms").withFallback(system.settings().config());
    try {
      ServerBinding b = Http.get(system).newServerAt(s.host(), s.port()).withSettings(ServerSettings.create(timeouts))
          .bind(route).toCompletableFuture().get(30, TimeUnit.SECONDS);
      return new OpenAiServer(b);
    } catch (ExecutionException | TimeoutException e) {
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      throw new IllegalStateException("cai serve cannot listen on " + s.host() + ":" + s.port() + " (--host/--port, "
          + "cai.serve): " + Errors.describe(cause), cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while binding the server", e);
    }
  }

  /** {@code http://HOST:PORT} of the bound server. */
  String url() {
    InetSocketAddress a = binding.localAddress();
    String host = a.getAddress().getHostAddress();
    return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
  }

  /** Stops accepting connections, lets requests in flight finish (up to {@code deadline}) and unbinds. */
  void terminate(Duration deadline) {
    try {
      binding.terminate(deadline).toCompletableFuture().get(deadline.toMillis() + 5_000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      // the actor system's termination closes what is left
    }
  }

  /** Unbinds when the actor system shuts down (Ctrl-C), letting requests in flight finish first. */
  void unbindOnShutdown(ActorSystem<?> system, Duration deadline) {
    binding.addToCoordinatedShutdown(deadline, system);
  }

  @Override
  public void close() {
    terminate(Duration.ofSeconds(5));
  }

  /** The routes. */
  private static final class Routes extends AllDirectives {
    private final ActorSystem<?> system;
    private final ActorRef<ModelActor.Command<CompletionRequest, CompletionReply>> model;
    private final String modelId;
    private final Optional<byte[]> token;
    private final Settings settings;
    private final long created = System.currentTimeMillis() / 1000;
    private final AtomicInteger inFlight = new AtomicInteger();

    Routes(ActorSystem<?> system, ActorRef<ModelActor.Command<CompletionRequest, CompletionReply>> model, String modelId,
        Optional<String> token, Settings settings) {
      this.system = system;
      this.model = model;
      this.modelId = modelId;
      this.token = token.map(t -> t.getBytes(StandardCharsets.UTF_8));
      this.settings = settings;
    }

    Route route() {
      return handleExceptions(exceptions(), () -> handleRejections(rejections(), () -> concat(
          path("health", () -> get(() -> complete(StatusCodes.OK))),
          pathPrefix("v1", () -> authorized(() -> concat(
              path("models", () -> get(() -> complete(json(200, OpenAiResponses.models(modelId, created))))),
              path(PathMatchers.segment("models").slash(PathMatchers.remaining()), id -> get(() -> id.equals(modelId)
                  ? complete(json(200, OpenAiResponses.model(modelId, created)))
                  : complete(error(new ApiError(404, "the model '" + id + "' does not exist", ApiError.INVALID_REQUEST,
                      "model", "model_not_found"))))),
              path("completions", () -> post(() -> body(this::completions))),
              path(PathMatchers.segment("chat").slash("completions"), () -> post(() -> body(this::chat)))))))));
    }

    /** The request body as text, within the size limit. */
    private Route body(Function<String, CompletionStage<HttpResponse>> handler) {
      return withSizeLimit(settings.maxBodyBytes(), () -> entity(Unmarshaller.entityToString(),
          text -> completeWithFuture(answer(() -> handler.apply(text)))));
    }

    private CompletionStage<HttpResponse> completions(String body) {
      OpenAiRequests.Call call = OpenAiRequests.completions(body, modelId, settings.maxPromptsPerRequest(),
          OpenAiRequests::randomSeed);
      return ask(call.requests(), "prompt")
          .thenApply(done -> json(200, OpenAiResponses.completion(modelId, done)));
    }

    private CompletionStage<HttpResponse> chat(String body) {
      OpenAiRequests.Call call = OpenAiRequests.chat(body, modelId, settings.chatMaxTokens(), OpenAiRequests::randomSeed);
      return ask(call.requests(), "messages")
          .thenApply(done -> json(200, OpenAiResponses.chat(modelId, done.get(0), call.logprobs())));
    }

    /**
     * Asks the model actor for every request at once (they batch together) and collects the completions in order; a
     * rejected one fails the call with 400 naming {@code param}. At most {@code maxInFlight} prompts wait at once.
     */
    private CompletableFuture<List<CompletionReply.Completed>> ask(List<CompletionRequest> requests, String param) {
      int n = requests.size();
      if (inFlight.addAndGet(n) > settings.maxInFlight()) {
        inFlight.addAndGet(-n);
        throw new ApiError(429, "the server is busy: more than " + settings.maxInFlight() + " prompts in flight "
            + "(cai.serve.max-in-flight); retry later", "rate_limit_error", null, "too_many_requests");
      }
      List<CompletableFuture<CompletionReply>> replies = new ArrayList<>();
      for (CompletionRequest r : requests) {
        replies.add(AskPattern.<ModelActor.Command<CompletionRequest, CompletionReply>, CompletionReply>askWithStatus(
            model, replyTo -> new ModelActor.Submit<>(r, replyTo), settings.requestTimeout(), system.scheduler())
            .toCompletableFuture());
      }
      CompletableFuture<Void> all = CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new));
      all.whenComplete((v, e) -> inFlight.addAndGet(-n));
      return all.thenApply(v -> {
        List<CompletionReply.Completed> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          CompletionReply reply = replies.get(i).join();
          if (reply instanceof CompletionReply.Rejected rejected) {
            throw ApiError.invalid(param, (n > 1 ? "prompt " + i + ": " : "") + rejected.message());
          }
          out.add((CompletionReply.Completed) reply);
        }
        return out;
      });
    }

    /** The handler's response, or the error response for an {@link ApiError} or a model failure, thrown or failed. */
    private CompletionStage<HttpResponse> answer(java.util.function.Supplier<CompletionStage<HttpResponse>> handler) {
      CompletionStage<HttpResponse> r;
      try {
        r = handler.get();
      } catch (RuntimeException e) {
        r = CompletableFuture.failedFuture(e);
      }
      return r.exceptionally(e -> error(failure(e)));
    }

    /** The API error for what went wrong. */
    private ApiError failure(Throwable e) {
      e = Failures.cause(e);
      if (e instanceof ApiError api) {
        return api;
      }
      if (e instanceof TimeoutException) {
        return new ApiError(503, "the model did not answer within " + settings.requestTimeout().toSeconds()
            + " s (cai.serve.request-timeout)", "server_error", null, "timeout");
      }
      if (e instanceof StatusReply.ErrorMessage) {
        return new ApiError(500, e.getMessage(), "server_error", null, null);
      }
      return new ApiError(500, "internal error: " + Errors.describe(e), "server_error", null, null);
    }

    /** Lets the inner route through with the bearer token (or when none is set); else 401. */
    private Route authorized(java.util.function.Supplier<Route> inner) {
      if (token.isEmpty()) {
        return inner.get();
      }
      return optionalHeaderValueByName("Authorization", header -> {
        if (header.isPresent() && header.get().regionMatches(true, 0, "Bearer ", 0, 7)
            && MessageDigest.isEqual(token.get(), header.get().substring(7).strip().getBytes(StandardCharsets.UTF_8))) {
          return inner.get();
        }
        return complete(error(new ApiError(401, "missing or wrong API key: send the server's token as "
            + "'Authorization: Bearer TOKEN'", ApiError.INVALID_REQUEST, null, "invalid_api_key"))
            .addHeader(WWWAuthenticate.create(HttpChallenge.create("Bearer", "cai"))));
      });
    }

    /** Pekko's own rejections (unknown path, wrong method, ...) as OpenAI error objects with the same status. */
    private RejectionHandler rejections() {
      return RejectionHandler.defaultHandler().mapRejectionResponse(r -> {
        if (r.entity().getContentType().equals(ContentTypes.APPLICATION_JSON)) {
          return r;
        }
        String text = r.status().intValue() == 413 ? "the request body is larger than " + settings.maxBodyBytes()
            + " bytes (cai.serve.max-body)"
            : r.entity() instanceof HttpEntity.Strict strict ? strict.getData().utf8String() : r.status().reason();
        return error(new ApiError(r.status().intValue(), text, ApiError.INVALID_REQUEST, null, null))
            .withHeaders(r.getHeaders());
      });
    }

    private ExceptionHandler exceptions() {
      return ExceptionHandler.newBuilder()
          .match(ApiError.class, e -> complete(error(e)))
          .build();
    }
  }

  private static HttpResponse error(ApiError e) {
    return json(e.status(), e.body()).addHeaders(e.status() == 429
        ? List.of(RetryAfter.create(1L)) : List.of());
  }

  private static HttpResponse json(int status, JsonObject body) {
    return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, GSON.toJson(body) + "\n");
  }
}
