package dev.cai.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.cai.actors.BatchModel;
import dev.cai.actors.BatchingSettings;
import dev.cai.actors.Completion;
import dev.cai.actors.GenerateRequest;
import dev.cai.actors.GenerationModel;
import dev.cai.actors.ModelLoading;
import dev.cai.persistence.RecordStore;
import dev.cai.protocol.v1.Prompt;
import dev.cai.runtime.constitution.Constitution;
import dev.cai.runtime.constitution.Constitution.CritiqueRevision;
import dev.cai.runtime.constitution.ConstitutionLoader;
import dev.cai.runtime.constitution.CritiquePrompts;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.streams.BuiltinPrompts;
import dev.cai.streams.ModelSpec;
import dev.cai.streams.PromptReader;
import dev.cai.streams.PromptSource;
import dev.cai.streams.SlGraph;
import dev.cai.streams.SlJob;
import dev.cai.streams.remote.RemoteSettings;
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

  private final long[] tokens = {0};

  private static List<GenerateRequest> requests(List<Transcript> conversations, GenerationSettings sampling, long seedBase) {
    List<GenerateRequest> out = new ArrayList<>();
    for (int i = 0; i < conversations.size(); i++) {
      out.add(new GenerateRequest(conversations.get(i), sampling.withSeed(seedBase * 1000 + i)));
    }
    return out;
  }

  private List<String> texts(List<BatchModel.Outcome<Completion>> outcomes) {
    List<String> texts = new ArrayList<>();
    for (BatchModel.Outcome<Completion> o : outcomes) {
      tokens[0] += o.isOk() ? o.value().completionTokens() : 0;
      texts.add(o.isOk() && !o.value().text().isBlank() ? o.value().text() : "(no reply)");
    }
    return texts;
  }

  @Override
  public Integer call() throws Exception {
    var out = spec.commandLine().getOut();
    Path tmp = Files.createTempDirectory("cai-bench-sl");
    Path promptFile = BuiltinPrompts.resolve(prompts, tmp);
    List<Prompt> ps = PromptReader.readAll(promptFile, false).stream().limit(limit).toList();
    // fixed-length calls (no EOS stop): both sides generate exactly the same number of tokens
    GenerationSettings sampling = new GenerationSettings(maxTokens, 0.7, 0.9, 0, 0, false, List.of());

    double rawTokensPerSecond;
    double loadSeconds;
    long l0 = System.nanoTime();
    try (GenerationModel gm = ModelLoading.generation(model.modelPath(), model.deviceSetting())) {
      loadSeconds = (System.nanoTime() - l0) / 1e9;
      // the same work as the graph, as raw batched calls: answers, then per round critiques and revisions
      Constitution constitution = ConstitutionLoader.loadDefault();
      CritiquePrompts prompts = new CritiquePrompts(List.of(), false);
      List<Transcript> conversations = ps.stream().map(p -> CritiquePrompts.initial(p.getContext(), p.getText())).toList();
      gm.run(List.of(new GenerateRequest(conversations.get(0), sampling))); // warm-up
      long generated = tokens[0];
      long t0 = System.nanoTime();
      List<String> responses = texts(gm.run(requests(conversations, sampling, 0)));
      for (int r = 0; r < rounds; r++) {
        List<Transcript> critiqueAsks = new ArrayList<>();
        List<CritiqueRevision> rules = new ArrayList<>();
        for (int i = 0; i < conversations.size(); i++) {
          CritiqueRevision rule = constitution.critiqueRevisions().get((i + r) % constitution.critiqueRevisions().size());
          rules.add(rule);
          critiqueAsks.add(prompts.critique(conversations.get(i), responses.get(i), rule));
        }
        List<String> critiques = texts(gm.run(requests(critiqueAsks, sampling, 1000 + r)));
        List<Transcript> revisionAsks = new ArrayList<>();
        for (int i = 0; i < conversations.size(); i++) {
          revisionAsks.add(prompts.revision(conversations.get(i), responses.get(i), critiques.get(i), rules.get(i)));
        }
        responses = texts(gm.run(requests(revisionAsks, sampling, 2000 + r)));
      }
      generated = tokens[0] - generated;
      rawTokensPerSecond = generated / ((System.nanoTime() - t0) / 1e9);
      out.printf("raw generate:    batches of %d, %d calls per prompt, %d generated tokens, %.1f generated tokens/s "
          + "(model load %.1f s)%n", ps.size(), 1 + 2 * rounds, generated, rawTokensPerSecond, loadSeconds);
    }

    Config conf = ConfigFactory.load();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "cai-bench", conf);
    try (RecordStore store = RecordStore.open(tmp.resolve("store"))) {
      SlJob.Config job = new SlJob.Config(ModelSpec.local(model.modelPath()), Optional.empty(),
          List.of(new PromptSource(promptFile, false)), ConstitutionLoader.loadDefault(), sampling,
          new SlGraph.Settings(rounds, ps.size(), 8, Duration.ofSeconds(1), 1, limit, false, false),
          BatchingSettings.fromConfig(conf.getConfig("cai.batching")), model.deviceSetting(), Duration.ofMinutes(30),
          RemoteSettings.fromConfig(conf.getConfig("cai.remote")));
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
