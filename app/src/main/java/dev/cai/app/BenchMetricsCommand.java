package dev.cai.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.cai.actors.BatchingSettings;
import dev.cai.actors.Completion;
import dev.cai.actors.GenerateRequest;
import dev.cai.actors.ModelActor;
import dev.cai.actors.ModelLoading;
import dev.cai.persistence.RecordStore;
import dev.cai.runtime.constitution.Constitution;
import dev.cai.runtime.constitution.ConstitutionLoader;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.streams.ActorResponder;
import dev.cai.streams.BuiltinPrompts;
import dev.cai.streams.PromptSource;
import dev.cai.streams.Responder;
import dev.cai.streams.SlGraph;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code cai bench metrics}: the cost of live monitoring on SL stream throughput. The same SL graph runs repeatedly,
 * alternating monitoring on (the Prometheus registry attached, the monitor server up and scraped every second) and off
 * (no registry: every meter a no-op), first on an instant fake model (graph overhead only: the worst case), then on the
 * real model through its actor.
 */
@Command(name = "metrics", mixinStandardHelpOptions = true,
    description = "SL stream throughput with live metrics on and off (alternating runs): on an instant fake model "
        + "(worst case: only the graph's own work) and on the real model.")
final class BenchMetricsCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;
  @Mixin ModelOptions model;

  @Option(names = "--repeats", defaultValue = "4", description = "Runs per setting and model (default: ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--fake-prompts", defaultValue = "100000",
      description = "Prompts per run on the fake model (default: ${DEFAULT-VALUE}).")
  int fakePrompts;

  @Option(names = "--limit", defaultValue = "16", description = "Prompts per run on the real model; also the "
      + "parallelism (default: ${DEFAULT-VALUE}).")
  int limit;

  @Option(names = "--max-tokens", defaultValue = "32", description = "New tokens per call on the real model "
      + "(default: ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(names = "--skip-real", description = "Only the fake-model runs.")
  boolean skipReal;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Config conf = CaiConfig.load();
    Monitoring monitoring = Monitoring.ensureStarted(conf, spec.commandLine().getErr()).orElseThrow(
        () -> new IllegalArgumentException("cai.monitor.enabled is false: nothing to compare"));
    PrometheusMeterRegistry registry = monitoring.registry();
    Path tmp = Files.createTempDirectory("cai-bench-metrics");
    Constitution constitution = ConstitutionLoader.loadDefault();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "cai-bench", conf);
    Scraper scraper = new Scraper(monitoring.url() + "/metrics");
    try {
      List<String> fakeLines = new ArrayList<>();
      for (int i = 0; i < fakePrompts; i++) {
        fakeLines.add("{\"prompt\": \"question number " + i + "?\"}");
      }
      Path fakeFile = Files.write(tmp.resolve("fake.jsonl"), fakeLines);
      Responder instant = (conversation, seed) -> CompletableFuture.completedFuture(
          new Completion("a reply of some words", 40, 5, true));
      SlGraph.Models fake = new SlGraph.Models(instant, "instant", instant, "instant");
      SlGraph.Settings fakeSettings = new SlGraph.Settings(2, 16, 64, Duration.ofMillis(200), 1, 0, false, false);
      run(system, tmp, fakeFile, constitution, fake, fakeSettings); // warm-up (JIT), metrics on
      Metrics.removeRegistry(registry);
      run(system, tmp, fakeFile, constitution, fake, fakeSettings); // and off
      Metrics.addRegistry(registry);
      compare(out, "fake model", system, tmp, fakeFile, constitution, fake, fakeSettings, registry, scraper, "prompts/s");
      if (!skipReal) {
        GenerationSettings sampling = new GenerationSettings(maxTokens, 0.7, 0.9, 0, 0, false, List.of());
        ActorRef<ModelActor.Command<GenerateRequest, Completion>> policy = system.systemActorOf(
            ModelActor.<GenerateRequest, Completion>create("bench-policy",
                () -> ModelLoading.generation(model.modelPath(), model.deviceSetting()),
                BatchingSettings.fromConfig(conf.getConfig("cai.batching"))), "bench-policy",
            org.apache.pekko.actor.typed.Props.empty());
        Responder real = new ActorResponder(policy, sampling, Duration.ofMinutes(30), system);
        SlGraph.Models models = new SlGraph.Models(real, "real", real, "real");
        Path realFile = BuiltinPrompts.resolve("builtin:red-team", tmp);
        SlGraph.Settings settings = new SlGraph.Settings(1, limit, 8, Duration.ofSeconds(1), 1, limit, false, false);
        run(system, tmp, realFile, constitution, models, settings); // warm-up: loads the model
        compare(out, "real model (" + model.modelPath().getFileName() + ", " + limit + " prompts, 1 round, " + maxTokens
            + " tokens per call)", system, tmp, realFile, constitution, models, settings, registry, scraper, "prompts/s");
      }
    } finally {
      scraper.stop();
      Metrics.addRegistry(registry); // leave monitoring as found
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
    return 0;
  }

  /** Alternates off/on runs and prints each and the means. */
  private void compare(PrintWriter out, String what, ActorSystem<?> system, Path tmp, Path prompts,
      Constitution constitution, SlGraph.Models models, SlGraph.Settings settings, PrometheusMeterRegistry registry,
      Scraper scraper, String unit) throws Exception {
    double[] off = new double[repeats];
    double[] on = new double[repeats];
    for (int i = 0; i < repeats; i++) {
      // ABBA order (off, on, on, off, ...): a slow drift of the machine weighs on both sides alike
      boolean offFirst = i % 2 == 0;
      for (int k = 0; k < 2; k++) {
        boolean metricsOn = offFirst == (k == 1);
        if (metricsOn) {
          Metrics.addRegistry(registry);
          scraper.pause(false);
          on[i] = run(system, tmp, prompts, constitution, models, settings);
        } else {
          Metrics.removeRegistry(registry);
          scraper.pause(true);
          off[i] = run(system, tmp, prompts, constitution, models, settings);
        }
      }
      out.printf("%s, run %d: metrics off %.4g %s, on %.4g %s%n", what, i + 1, off[i], unit, on[i], unit);
      out.flush();
    }
    double meanOff = mean(off);
    double meanOn = mean(on);
    out.printf("%s: metrics off %.4g ± %.2g %s, on %.4g ± %.2g %s; overhead %.2f %%%n", what, meanOff, sd(off, meanOff),
        unit, meanOn, sd(on, meanOn), unit, 100 * (meanOff - meanOn) / meanOff);
    out.flush();
  }

  /** One SL graph run over {@code prompts} into a fresh store; prompts per second. */
  private static double run(ActorSystem<?> system, Path tmp, Path prompts, Constitution constitution,
      SlGraph.Models models, SlGraph.Settings settings) throws Exception {
    Path dir = Files.createTempDirectory(tmp, "run");
    try (RecordStore store = RecordStore.open(dir.resolve("store"))) {
      long t0 = System.nanoTime();
      SlGraph.Summary s = SlGraph.run(system, List.of(new PromptSource(prompts, false)), store, constitution, models,
          settings, x -> { }).toCompletableFuture().get();
      return s.examples() / ((System.nanoTime() - t0) / 1e9);
    }
  }

  private static double mean(double[] xs) {
    double s = 0;
    for (double x : xs) {
      s += x;
    }
    return s / xs.length;
  }

  private static double sd(double[] xs, double mean) {
    double s = 0;
    for (double x : xs) {
      s += (x - mean) * (x - mean);
    }
    return xs.length < 2 ? 0 : Math.sqrt(s / (xs.length - 1));
  }

  /** Scrapes {@code /metrics} once a second while on, as a Prometheus would. */
  private static final class Scraper {
    private final java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    private final java.util.concurrent.ScheduledExecutorService timer =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    private volatile boolean paused = true;

    Scraper(String url) {
      java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).build();
      timer.scheduleAtFixedRate(() -> {
        if (!paused) {
          try {
            http.send(request, java.net.http.HttpResponse.BodyHandlers.discarding());
          } catch (Exception e) {
            // a failed scrape only means less load on the measured side
          }
        }
      }, 1, 1, TimeUnit.SECONDS);
    }

    void pause(boolean p) {
      paused = p;
    }

    void stop() {
      timer.shutdownNow();
    }
  }
}
