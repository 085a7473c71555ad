package dev.cai.app;

import com.typesafe.config.Config;
import dev.cai.actors.BatchingSettings;
import dev.cai.actors.CompletionModel;
import dev.cai.actors.CompletionReply;
import dev.cai.actors.CompletionRequest;
import dev.cai.actors.ModelActor;
import dev.cai.actors.ModelLoading;
import dev.cai.runtime.model.DeviceSetting;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code cai serve}: a model behind an OpenAI-compatible HTTP API until Ctrl-C. */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Serve a model over an OpenAI-compatible HTTP API: GET /v1/models, POST /v1/completions (echo, "
        + "logprobs) and POST /v1/chat/completions, batching concurrent requests. Ctrl-C stops it.")
final class ServeCommand implements Callable<Integer> {
  /** Environment variable with the bearer token when no --token-file is given. */
  static final String TOKEN_ENV = "CAI_SERVE_TOKEN";
  /** How long Ctrl-C lets requests in flight finish. */
  private static final Duration DRAIN = Duration.ofSeconds(30);

  @Spec picocli.CommandLine.Model.CommandSpec spec;
  @Mixin ModelOptions model;

  @Option(names = "--host", paramLabel = "HOST", description = "Interface to listen on (default: cai.serve.host, 127.0.0.1).")
  String host;

  @Option(names = "--port", paramLabel = "PORT", description = "TCP port, 0 = a free one (default: cai.serve.port, 8000).")
  Integer port;

  @Option(names = "--token-file", paramLabel = "FILE",
      description = "File holding the bearer token every /v1 request must send (Authorization: Bearer TOKEN); "
          + "without it the token comes from $" + TOKEN_ENV + ", and without that the API is open.")
  Path tokenFile;

  @Override
  public Integer call() throws Exception {
    Config conf = CaiConfig.load();
    OpenAiServer.Settings defaults = OpenAiServer.Settings.fromConfig(conf.getConfig("cai.serve"));
    OpenAiServer.Settings settings = defaults.withAddress(CaiSystem.or(host, defaults.host()),
        CaiSystem.or(port, defaults.port()));
    Optional<String> token = token(tokenFile, System.getenv());
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (Running running = start(conf, model.modelPath(), model.deviceSetting(), token, settings)) {
      CoordinatedShutdown.get(running.system()).addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "serve-stopping",
          () -> {
            err.println("stopping: finishing the requests in flight (" + DRAIN.toSeconds() + " s at most)");
            err.flush();
            return CompletableFuture.completedFuture(Done.getInstance());
          });
      err.println(token.isPresent() ? "requests must send 'Authorization: Bearer TOKEN' (the token from "
          + (tokenFile != null ? tokenFile : "$" + TOKEN_ENV) + ")" : "no token set (--token-file or $" + TOKEN_ENV
          + "): the API is open to whoever reaches " + settings.host());
      out.println("serving " + running.modelId() + " on " + running.baseUrl());
      out.flush();
      err.flush();
      running.system().getWhenTerminated().toCompletableFuture().get();
    }
    return 0;
  }

  /**
   * A model served over HTTP: its actor system, model actor and binding; {@link #close()} stops them.
   *
   * @param modelId the name clients give as {@code model}
   */
  record Running(ActorSystem<Void> system, OpenAiServer server, String modelId) implements AutoCloseable {
    /** {@code http://HOST:PORT/v1}. */
    String baseUrl() {
      return server.url() + "/v1";
    }

    @Override
    public void close() throws Exception {
      // the coordinated shutdown unbinds first (requests in flight finish), then stops the model actor (closing the model)
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
  }

  /**
   * Loads the model (failing here, with the reason, when it cannot), starts the actor system with the model actor and
   * binds the API.
   */
  static Running start(Config conf, Path modelPath, DeviceSetting device, Optional<String> token,
      OpenAiServer.Settings settings) {
    BatchingSettings batching = BatchingSettings.fromConfig(conf.getConfig("cai.batching"));
    if (settings.maxInFlight() > batching.maxQueued()) {
      throw new IllegalArgumentException("cai.serve.max-in-flight (" + settings.maxInFlight() + ") must be at most "
          + "cai.batching.max-queued (" + batching.maxQueued() + ")");
    }
    CompletionModel loaded = ModelLoading.completion(modelPath, device);
    String id = loaded.id();
    // the actor takes the loaded model first; after a restart it loads the file again
    AtomicReference<CompletionModel> first = new AtomicReference<>(loaded);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "cai", conf);
    try {
      ActorRef<ModelActor.Command<CompletionRequest, CompletionReply>> actor = system.systemActorOf(
          ModelActor.<CompletionRequest, CompletionReply>create("serve", () -> {
            CompletionModel m = first.getAndSet(null);
            return m != null ? m : ModelLoading.completion(modelPath, device);
          }, batching), "serve-model", Props.empty());
      OpenAiServer server = OpenAiServer.start(system, actor, id, token, settings);
      server.unbindOnShutdown(system, DRAIN);
      return new Running(system, server, id);
    } catch (RuntimeException e) {
      system.terminate();
      CompletionModel unused = first.getAndSet(null);
      if (unused != null) {
        unused.close();
      }
      throw e;
    }
  }

  /**
   * The bearer token: the first line of {@code file} when given, else {@code $CAI_SERVE_TOKEN} when set; never
   * printed.
   *
   * @throws IllegalArgumentException naming the file (not its content) when it cannot be read or holds no usable token
   */
  static Optional<String> token(Path file, Map<String, String> env) {
    String t;
    String where;
    if (file != null) {
      try {
        t = Files.readString(file).strip();
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read the token file " + file + " (" + e.getClass().getSimpleName()
            + ")", null);
      }
      where = "the token file " + file;
      if (t.isEmpty()) {
        throw new IllegalArgumentException(where + " is empty");
      }
    } else {
      t = env.getOrDefault(TOKEN_ENV, "").strip();
      where = "$" + TOKEN_ENV;
      if (t.isEmpty()) {
        return Optional.empty();
      }
    }
    if (!t.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      throw new IllegalArgumentException(where + " must hold one token of printable ASCII characters without spaces");
    }
    return Optional.of(t);
  }
}
