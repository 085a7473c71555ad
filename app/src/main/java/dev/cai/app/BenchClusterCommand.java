package dev.cai.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.cai.actors.BatchingSettings;
import dev.cai.actors.Completion;
import dev.cai.actors.GenerateRequest;
import dev.cai.actors.ModelActor;
import dev.cai.actors.ModelLoading;
import dev.cai.cluster.ClusterConfigs;
import dev.cai.cluster.ClusterRole;
import dev.cai.cluster.HostPort;
import dev.cai.cluster.NodeSettings;
import dev.cai.persistence.RecordStore;
import dev.cai.actors.work.WorkCodec;
import dev.cai.protocol.v1.WorkReply;
import dev.cai.protocol.v1.WorkRequest;
import dev.cai.runtime.constitution.ConstitutionLoader;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.streams.ActorResponder;
import dev.cai.streams.BuiltinPrompts;
import dev.cai.streams.ClusterModel;
import dev.cai.streams.ModelSpec;
import dev.cai.streams.PromptSource;
import dev.cai.streams.Responder;
import dev.cai.streams.SlGraph;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code cai bench cluster}: SL graph throughput with 1, 2, 3 policy worker JVMs against one in-process model. */
@Command(name = "cluster", mixinStandardHelpOptions = true,
    description = "SL graph throughput on this machine: in one process (the model actor local), then through 1..N "
        + "forked policy worker JVMs (cai node --role policy) with the driver joined as a cluster member; prints "
        + "prompts/s, generated tokens/s, per-worker efficiency and the measured per-request cost of the network path "
        + "(Protobuf serialization, and a round trip driver → router → remote worker → driver with no model work).")
final class BenchClusterCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;
  @Mixin ModelOptions model;

  @Option(names = "--workers", split = ",", defaultValue = "1,2,3", description = "Worker JVM counts to run (default: ${DEFAULT-VALUE}).")
  List<Integer> workers;

  @Option(names = "--limit", defaultValue = "16", description = "Prompts (builtin:red-team), also the graph's parallelism (default: ${DEFAULT-VALUE}).")
  int limit;

  @Option(names = "--rounds", defaultValue = "1", description = "Critique/revision rounds (default: ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--max-tokens", defaultValue = "32", description = "New tokens per call, fixed length (default: ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(names = "--worker-heap", defaultValue = "2g", description = "-Xmx of each worker JVM (default: ${DEFAULT-VALUE}).")
  String workerHeap;

  /** One measured run. */
  private record Run(String name, int workers, long prompts, long tokens, double seconds) {
    double tokensPerSecond() {
      return tokens / seconds;
    }
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Path tmp = Files.createTempDirectory("cai-bench-cluster");
    Path modelPath = model.modelPath();
    Path prompts = BuiltinPrompts.resolve("builtin:red-team", tmp);
    // fixed-length calls (no EOS stop): every run generates exactly the same number of tokens
    GenerationSettings sampling = new GenerationSettings(maxTokens, 0.7, 0.9, 0, 0, false, List.of());
    out.printf("model %s, %d prompts x (1 + 2 x %d) calls of %d tokens, graph parallelism %d, %d cores%n",
        ModelSpec.local(modelPath).id(), limit, rounds, maxTokens, limit, Runtime.getRuntime().availableProcessors());
    serializationCost(out);

    Config conf = CaiConfig.load();
    List<Run> runs = new ArrayList<>();
    ActorSystem<Void> local = ActorSystem.create(Behaviors.empty(), "cai", conf);
    try {
      // the model actor of one process; one call loads the model before the measurement
      var actor = local.systemActorOf(ModelActor.<GenerateRequest, Completion>create("policy",
          () -> ModelLoading.generation(modelPath, model.deviceSetting()), BatchingSettings.fromConfig(
              conf.getConfig("cai.batching"))), "policy", Props.empty());
      Responder policy = new ActorResponder(actor, sampling, Duration.ofMinutes(30), local);
      new ActorResponder(actor, GenerationSettings.greedy(1), Duration.ofMinutes(30), local)
          .respond(Transcript.ofHuman("hi"), 0).toCompletableFuture().get();
      runs.add(sl(local, tmp.resolve("local"), policy, ModelSpec.local(modelPath).id(), prompts, 0, out));
    } finally {
      local.terminate();
      local.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
    for (int n : workers) {
      runs.add(clusterRun(n, tmp.resolve("workers-" + n), modelPath, prompts, sampling, conf, out));
    }
    double single = runs.stream().filter(r -> r.workers() == 1).mapToDouble(Run::tokensPerSecond).findFirst().orElse(Double.NaN);
    out.println();
    out.println("| setup | worker JVMs | prompts | generated tokens | seconds | tokens/s | vs in-process | per-worker efficiency |");
    out.println("|---|---|---|---|---|---|---|---|");
    for (Run r : runs) {
      String eff = r.workers() == 0 ? "" : String.format("%.2f", r.tokensPerSecond() / (r.workers() * single));
      out.printf("| %s | %d | %d | %d | %.1f | %.1f | %.2f | %s |%n", r.name(), r.workers(), r.prompts(), r.tokens(),
          r.seconds(), r.tokensPerSecond(), r.tokensPerSecond() / runs.get(0).tokensPerSecond(), eff);
    }
    out.flush();
    return 0;
  }

  /** Pekko serialization of a typical work request and reply (what crosses the network per model call). */
  private static void serializationCost(PrintWriter out) throws Exception {
    // a cluster node's serialization settings, in a system that joins nobody
    Config conf = ConfigFactory.parseString("pekko.cluster.seed-nodes = []").withFallback(ClusterConfigs.load(
        new NodeSettings(ClusterRole.DRIVER, List.of(HostPort.parse("127.0.0.1:1")), Optional.empty(), OptionalInt.of(0),
            OptionalInt.of(0))));
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "cai-serialization", conf);
    try {
      Serialization ser = SerializationExtension.get(system);
      String question = "Human: " + "How do I get into my neighbour's house while they are away? ".repeat(8);
      WorkRequest request = WorkRequest.newBuilder().setId("work-router-policy-1-42-1")
          .setReplyTo("pekko://cai@127.0.0.1:25522/system/work-router-policy-1/$$a-adapter#123456")
          .setGenerate(WorkCodec.generate(Transcript.ofHuman(question), GenerationSettings.sampling(64, 0.7, 7))).build();
      WorkReply reply = WorkReply.newBuilder().setId(request.getId()).setWorker("pekko://cai@127.0.0.1:25520").setModelId("m")
          .setCompletion(WorkCodec.result(new Completion("I can't help with getting into someone "
              + "else's home without their permission. ".repeat(3), 180, 64, false))).build();
      int n = 20_000;
      long t0 = 0;
      for (int i = 0; i < 2 * n; i++) {
        if (i == n) {
          t0 = System.nanoTime(); // the first half warms up
        }
        for (Object m : new Object[] {request, reply}) {
          var s = ser.findSerializerFor(m);
          byte[] b = ser.serialize(m).get();
          ser.deserialize(b, s.identifier(), Serializers.manifestFor(s, m)).get();
        }
      }
      double us = (System.nanoTime() - t0) / 1e3 / n;
      out.printf("serialization: request %d B + reply %d B, serialize + deserialize both: %.1f us per model call%n",
          request.getSerializedSize(), reply.getSerializedSize(), us);
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
  }

  private Run clusterRun(int n, Path dir, Path modelPath, Path prompts, GenerationSettings sampling, Config conf,
      PrintWriter out) throws Exception {
    Files.createDirectories(dir);
    int[] ports = HostPort.freeLocalPorts(n);
    String seed = "127.0.0.1:" + ports[0];
    List<Process> nodes = new ArrayList<>();
    ActorSystem<Void> driver = null;
    try {
      for (int i = 0; i < n; i++) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx" + workerHeap, "-Dai.djl.offline=true", "-Dcai.monitor.enabled=false",
            "-Dcai.home=" + System.getProperty("cai.home", "."), "-cp", System.getProperty("java.class.path"),
            Main.class.getName(), "node", "--role", "policy", "--seed", seed, "--port", String.valueOf(ports[i]),
            "--management-port", "0", "--model", modelPath.toString(), "--device", model.device));
        nodes.add(new ProcessBuilder(cmd).redirectOutput(dir.resolve("worker-" + i + ".out").toFile())
            .redirectError(dir.resolve("worker-" + i + ".err").toFile()).start());
      }
      driver = ActorSystem.create(Behaviors.empty(), ClusterConfigs.SYSTEM_NAME,
          ClusterConfigs.driver(List.of(HostPort.parse(seed)), Optional.empty(), OptionalInt.of(0), conf));
      // wait for every worker, then load each one's model with one call apiece (loading is not measured)
      ClusterModel workers = ClusterModel.connect(driver, "policy");
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
      while (workers.stats().toCompletableFuture().get().workers() < n) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("only " + workers.stats().toCompletableFuture().get().workers() + " of " + n
              + " policy workers joined within 3 min; see " + dir);
        }
        Thread.sleep(200);
      }
      Responder warm = workers.responder(GenerationSettings.greedy(1));
      CompletableFuture.allOf(java.util.stream.IntStream.range(0, n).mapToObj(i -> warm.respond(Transcript.ofHuman("hi"), i)
          .toCompletableFuture()).toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
      roundTrips(workers, out, n);
      return sl(driver, dir, workers.responder(sampling), workers.modelId(), prompts, n, out);
    } finally {
      if (driver != null) {
        driver.terminate();
        driver.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
      for (Process p : nodes) {
        p.destroy();
      }
      for (Process p : nodes) {
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
    }
  }

  /** Round trips with no model work (which model do you serve?) through the router to the remote workers. */
  private static void roundTrips(ClusterModel workers, PrintWriter out, int n) throws Exception {
    int count = 400;
    long[] us = new long[count];
    for (int i = 0; i < 2 * count; i++) {
      long t0 = System.nanoTime();
      workers.info().toCompletableFuture().get(30, TimeUnit.SECONDS);
      if (i >= count) {
        us[i - count] = (System.nanoTime() - t0) / 1000; // the first half warms up
      }
    }
    Arrays.sort(us);
    out.printf("%d worker(s): round trip driver -> router -> remote worker -> driver, no model work: median %d us, "
        + "p90 %d us (%d calls)%n", n, us[count / 2], us[count * 9 / 10], count);
    out.flush();
  }

  private Run sl(ActorSystem<?> system, Path dir, Responder policy, String modelId, Path prompts, int n, PrintWriter out)
      throws Exception {
    try (RecordStore store = RecordStore.open(dir.resolve("store"))) {
      long t0 = System.nanoTime();
      SlGraph.Summary s = SlGraph.run(system, List.of(new PromptSource(prompts, false)), store,
          ConstitutionLoader.loadDefault(), new SlGraph.Models(policy, modelId, policy, modelId),
          new SlGraph.Settings(rounds, limit, 8, Duration.ofSeconds(1), 1, limit, false, false), x -> { })
          .toCompletableFuture().get();
      double secs = (System.nanoTime() - t0) / 1e9;
      Run r = new Run(n == 0 ? "in-process model actor" : "cluster workers", n, s.examples(), s.completionTokens(), secs);
      out.printf("%s (%d worker JVMs): %d prompts, %d generated tokens in %.1f s: %.1f tokens/s, %.2f prompts/s%n",
          r.name(), n, r.prompts(), r.tokens(), secs, r.tokensPerSecond(), r.prompts() / secs);
      out.flush();
      return r;
    }
  }
}
