package dev.cai.app;

import dev.cai.streams.SampleFeed;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The monitor's HTTP server (Pekko HTTP, loopback by default): {@code GET /metrics} (Prometheus text), {@code GET /}
 * (the dashboard, bundled under {@code dashboard/}), {@code GET /webjars/chart.js/dist/chart.umd.js} (Chart.js from its
 * WebJar), {@code GET /events} (a snapshot per interval as server-sent events) and {@code GET /api/snapshot}.
 */
final class MonitorServer {
  /** Rates on /events are taken over this window (or since the connection opened, when younger). */
  static final long RATE_WINDOW_MS = 10_000;

  private static final String CHART_JS_PROPERTIES = "META-INF/maven/org.webjars.npm/chart.js/pom.properties";

  private final ServerBinding binding;

  private MonitorServer(ServerBinding binding) {
    this.binding = binding;
  }

  /**
   * Binds the server (waiting up to 30 s).
   *
   * @param phase what the process runs now, shown on the dashboard
   * @throws IllegalStateException naming the address when it cannot listen there
   */
  static MonitorServer start(ActorSystem<?> system, PrometheusMeterRegistry registry, Monitoring.Settings s,
      Supplier<String> phase) {
    Route route = new Routes(registry, s, phase, chartJsResource()).route();
    try {
      return new MonitorServer(Http.get(system).newServerAt(s.host(), s.port()).bind(route).toCompletableFuture()
          .get(30, TimeUnit.SECONDS));
    } catch (ExecutionException | TimeoutException e) {
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      throw new IllegalStateException("the monitor cannot listen on " + s.host() + ":" + s.port() + " (cai.monitor): "
          + Errors.describe(cause), cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while binding the monitor", e);
    }
  }

  /** {@code http://HOST:PORT} of the bound server. */
  String url() {
    InetSocketAddress a = binding.localAddress();
    String host = a.getAddress().getHostAddress();
    return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
  }

  /** The classpath path of Chart.js in its WebJar (the version comes from the WebJar's pom.properties). */
  static String chartJsResource() {
    Properties p = new Properties();
    try (InputStream in = MonitorServer.class.getClassLoader().getResourceAsStream(CHART_JS_PROPERTIES)) {
      if (in == null) {
        throw new IllegalStateException("the Chart.js WebJar is not on the class path (" + CHART_JS_PROPERTIES + ")");
      }
      p.load(in);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + CHART_JS_PROPERTIES + ": " + e.getMessage(), e);
    }
    return "META-INF/resources/webjars/chart.js/" + p.getProperty("version") + "/dist/chart.umd.js";
  }

  /** The routes. */
  private static final class Routes extends AllDirectives {
    private final PrometheusMeterRegistry registry;
    private final Monitoring.Settings settings;
    private final Supplier<String> phase;
    private final String chartJs;

    Routes(PrometheusMeterRegistry registry, Monitoring.Settings settings, Supplier<String> phase, String chartJs) {
      this.registry = registry;
      this.settings = settings;
      this.phase = phase;
      this.chartJs = chartJs;
    }

    Route route() {
      return get(() -> concat(
          pathEndOrSingleSlash(() -> getFromResource("dashboard/index.html")),
          path("metrics", () -> complete(HttpEntities.create(ContentTypes.TEXT_PLAIN_UTF8, registry.scrape()))),
          pathPrefix("dashboard", () -> getFromResourceDirectory("dashboard")),
          path(PathMatchers.segment("webjars").slash("chart.js").slash("dist").slash("chart.umd.js"),
              () -> getFromResource(chartJs)),
          path("events", () -> completeOK(events(), EventStreamMarshalling.toEventStream())),
          path(PathMatchers.segment("api").slash("snapshot"), () -> complete(HttpEntities.create(
              ContentTypes.APPLICATION_JSON, MonitorReadings.now(phase.get()).snapshot(Optional.empty(),
                  SampleFeed.global().since(0), AppMeters.learnerHistory(), AppMeters.trainingHistory()).toString())))));
    }

    /**
     * One snapshot per interval. Each connection keeps its readings of the last {@link #RATE_WINDOW_MS} (rates are taken
     * over that window: smooth for stages that work in batches) and the last sample it was sent; its first snapshot
     * carries the curves so far.
     */
    private Source<ServerSentEvent, NotUsed> events() {
      return Source.tick(java.time.Duration.ZERO, settings.snapshotInterval(), "tick")
          .statefulMapConcat(() -> {
            java.util.ArrayDeque<MonitorReadings> window = new java.util.ArrayDeque<>();
            long[] lastSeq = {0};
            return tick -> {
              MonitorReadings now = MonitorReadings.now(phase.get());
              List<SampleFeed.Sample> samples = SampleFeed.global().since(lastSeq[0]);
              if (!samples.isEmpty()) {
                lastSeq[0] = samples.get(samples.size() - 1).seq();
              }
              boolean first = window.isEmpty();
              while (window.size() > 1 && now.timeMs() - window.peekFirst().timeMs() > RATE_WINDOW_MS) {
                window.removeFirst();
              }
              Optional<MonitorReadings> since = Optional.ofNullable(window.peekFirst());
              String json = (first ? now.snapshot(since, samples, AppMeters.learnerHistory(), AppMeters.trainingHistory())
                  : now.snapshot(since, samples)).toString();
              window.addLast(now);
              return List.of(ServerSentEvent.create(json, "snapshot"));
            };
          })
          .mapMaterializedValue(c -> NotUsed.getInstance());
    }
  }
}
