package dev.cai.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.cai.actors.BatchingSettings;
import dev.cai.actors.GenerateRequest;
import dev.cai.actors.GenerationModel;
import dev.cai.actors.ModelLoading;
import dev.cai.persistence.RecordStore;
import dev.cai.protocol.v1.Prompt;
import dev.cai.runtime.constitution.ConstitutionLoader;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.streams.BuiltinPrompts;
import dev.cai.streams.PromptReader;
import dev.cai.streams.PromptSource;
import dev.cai.streams.SlGraph;
import dev.cai.streams.SlJob;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code cai bench sl}: SL graph throughput against raw batched generation, same model, same process. */
@Command(name = "sl", mixinStandardHelpOptions = true,
    description = "Generated tokens/s through the SL graph (actors, dynamic batching, streams, RocksDB commits) against "
        + "the runtime's raw batched generate of the same prompts with the same sampling, in one process.")
final class BenchSlCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;
  @Mixin ModelOptions model;

  @Option(names = "--prompts", defaultValue = "builtin:red-team", description = "Prompts (default: ${DEFAULT-VALUE}).")
  String prompts;

  @Option(names = "--limit", defaultValue = "16", description = "Prompts used; also the graph's parallelism (default: ${DEFAULT-VALUE}).")
  int limit;

  @Option(names = "--rounds", defaultValue = "1", description = "Critique/revision rounds in the graph (default: ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--max-tokens", defaultValue = "64", description = "New tokens per call (default: ${DEFAULT-VALUE}).")
  int maxTokens;

  @Override
  public Integer call() throws Exception {
    var out = spec.commandLine().getOut();
    Path tmp = Files.createTempDirectory("cai-bench-sl");
    Path promptFile = BuiltinPrompts.resolve(prompts, tmp);
    List<Prompt> ps = PromptReader.readAll(promptFile, false).stream().limit(limit).toList();
    GenerationSettings sampling = new GenerationSettings(maxTokens, 0.7, 0.9, 0, 0, true, List.of());

    double rawTokensPerSecond;
    double loadSeconds;
    long l0 = System.nanoTime();
    try (GenerationModel gm = ModelLoading.generation(model.modelPath(), model.deviceSetting())) {
      loadSeconds = (System.nanoTime() - l0) / 1e9;
      List<GenerateRequest> reqs = new ArrayList<>();
      for (int i = 0; i < ps.size(); i++) {
        reqs.add(new GenerateRequest(Transcript.ofHuman(ps.get(i).getText()), sampling.withSeed(i)));
      }
      gm.run(reqs.subList(0, Math.min(2, reqs.size()))); // warm-up
      long t0 = System.nanoTime();
      long generated = gm.run(reqs).stream().mapToLong(o -> o.isOk() ? o.value().completionTokens() : 0).sum();
      rawTokensPerSecond = generated / ((System.nanoTime() - t0) / 1e9);
      out.printf("raw generate:    one batch of %d, %d tokens, %.1f generated tokens/s (model load %.1f s)%n", reqs.size(),
          generated, rawTokensPerSecond, loadSeconds);
    }

    Config conf = ConfigFactory.load();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "cai-bench", conf);
    try (RecordStore store = RecordStore.open(tmp.resolve("store"))) {
      SlJob.Config job = new SlJob.Config(model.modelPath(), Optional.empty(), List.of(new PromptSource(promptFile, false)),
          ConstitutionLoader.loadDefault(), sampling,
          new SlGraph.Settings(rounds, ps.size(), 8, Duration.ofSeconds(1), 1, limit, false, false),
          BatchingSettings.fromConfig(conf.getConfig("cai.batching")), model.deviceSetting(), Duration.ofMinutes(30));
      long t0 = System.nanoTime();
      SlGraph.Summary s = SlJob.run(system, store, job, x -> { }).toCompletableFuture().get();
      double secs = (System.nanoTime() - t0) / 1e9 - loadSeconds; // the actor loads the same model first
      double graph = s.completionTokens() / secs;
      out.printf("SL graph:        %d prompts x (1 + 2 x %d) calls, %d generated tokens in %.1f s (load excluded), "
          + "%.1f generated tokens/s%n", s.examples(), rounds, s.completionTokens(), secs, graph);
      out.printf("graph / raw:     %.2f%n", graph / rawTokensPerSecond);
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
    return 0;
  }
}
