package dev.cai.app;

import com.typesafe.config.Config;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Live monitoring of this process (one per JVM, started by the first long command): a Prometheus registry attached to
 * Micrometer's global registry (every stage, model actor, learner, training and store meter, plus JVM and resident
 * memory), the monitor HTTP server ({@link MonitorServer}: {@code /metrics}, the dashboard, {@code /events}) on its own
 * actor system, and per command a {@link Phase} that names what runs and appends {@code RUN_DIR/metrics.jsonl}.
 */
final class Monitoring {
  /** Monitoring settings ({@code cai.monitor}). */
  record Settings(boolean enabled, String host, int port, Duration snapshotInterval, Duration journalInterval) {
    Settings {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("cai.monitor.port must be in 0..65535 (0 = a free port), got " + port);
      }
      if (snapshotInterval.isNegative() || snapshotInterval.isZero() || journalInterval.isNegative()
          || journalInterval.isZero()) {
        throw new IllegalArgumentException("cai.monitor.snapshot-interval and journal-interval must be positive");
      }
    }

    static Settings of(Config conf) {
      Config c = conf.getConfig("cai.monitor");
      return new Settings(c.getBoolean("enabled"), c.getString("host"), c.getInt("port"),
          c.getDuration("snapshot-interval"), c.getDuration("journal-interval"));
    }
  }

  private static volatile Monitoring current;

  private final Settings settings;
  private final PrometheusMeterRegistry registry;
  private final MonitorServer server;
  private final ScheduledExecutorService journalTimer;
  private volatile String phase = "idle";

  private Monitoring(Settings settings, PrometheusMeterRegistry registry, MonitorServer server,
      ScheduledExecutorService journalTimer) {
    this.settings = settings;
    this.registry = registry;
    this.server = server;
    this.journalTimer = journalTimer;
  }

  /**
   * Starts monitoring for this process unless it runs or {@code cai.monitor.enabled} is false; prints where the dashboard
   * is. When the configured port is taken it says so and takes a free one.
   */
  static synchronized Optional<Monitoring> ensureStarted(Config conf, PrintWriter err) {
    if (current != null) {
      return Optional.of(current);
    }
    Settings s = Settings.of(conf);
    if (!s.enabled()) {
      return Optional.empty();
    }
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry); // lives as long as the process
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    Gauge.builder("cai.process.resident.memory", ProcessMemory::residentBytes).baseUnit("bytes")
        .description("resident set size: Java heap plus native memory (PyTorch, RocksDB)").register(registry);
    Metrics.addRegistry(registry);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "cai-monitor", conf);
    MonitorServer server;
    try {
      server = MonitorServer.start(system, registry, s, Monitoring::currentPhase);
    } catch (IllegalStateException e) {
      if (s.port() == 0) {
        system.terminate();
        Metrics.removeRegistry(registry);
        throw e;
      }
      err.println("monitor: port " + s.port() + " is taken (" + e.getMessage() + "); using a free port instead");
      server = MonitorServer.start(system, registry, new Settings(true, s.host(), 0, s.snapshotInterval(),
          s.journalInterval()), Monitoring::currentPhase);
    }
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "cai-metrics-journal");
      t.setDaemon(true);
      return t;
    });
    current = new Monitoring(s, registry, server, timer);
    err.println("monitor: dashboard " + server.url() + "/   metrics " + server.url() + "/metrics");
    err.flush();
    return Optional.of(current);
  }

  /** What the process runs now, for the dashboard ("idle" between commands). */
  private static String currentPhase() {
    Monitoring current = Monitoring.current; // volatile read
    return current == null ? "idle" : current.phase;
  }

  /** The process's monitoring, if started. */
  static synchronized Optional<Monitoring> current() {
    return Optional.ofNullable(current);
  }

  /**
   * Starts a phase (a command) named {@code name}: the dashboard shows it, and when {@code runDir} is given a line of
   * counts since the phase began is appended to {@code RUN_DIR/metrics.jsonl} every journal interval and at the end.
   * Without monitoring (disabled) the phase does nothing.
   */
  static Phase phase(Config conf, PrintWriter err, String name, Path runDir) {
    Optional<Monitoring> m = ensureStarted(conf, err);
    if (m.isEmpty()) {
      return () -> { };
    }
    String journal = conf.getString("cai.monitor.journal-file");
    return m.get().begin(name, !journal.isEmpty() ? Path.of(journal) : runDir == null ? null
        : runDir.resolve("metrics.jsonl"));
  }

  private Phase begin(String name, Path file) {
    String previous = phase;
    phase = name;
    MonitorReadings baseline = MonitorReadings.now(name);
    ScheduledFuture<?> task = file == null ? null : journalTimer.scheduleAtFixedRate(() -> append(file, baseline),
        settings.journalInterval().toMillis(), settings.journalInterval().toMillis(), TimeUnit.MILLISECONDS);
    return () -> {
      if (task != null) {
        task.cancel(false);
        append(file, baseline);
      }
      phase = previous;
    };
  }

  /** Appends one metrics line; a failure to write is reported once per call on stderr, never thrown into the run. */
  private static void append(Path file, MonitorReadings baseline) {
    try {
      if (file.getParent() != null) {
        Files.createDirectories(file.getParent());
      }
      synchronized (Monitoring.class) { // read inside the lock: lines are written in time order
        String line = MonitorReadings.now(baseline.phase()).journalLine(baseline) + "\n";
        Files.writeString(file, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      }
    } catch (IOException | UncheckedIOException e) {
      System.err.println("monitor: cannot append to " + file + ": " + e.getMessage());
    }
  }

  /** The monitor server's base URL, {@code http://HOST:PORT}. */
  String url() {
    return server.url();
  }

  /** The Prometheus registry (what {@code /metrics} serves). */
  PrometheusMeterRegistry registry() {
    return registry;
  }

  /** A running command's phase; closing it writes its last metrics line. */
  @FunctionalInterface
  interface Phase extends AutoCloseable {
    @Override
    void close();
  }
}
