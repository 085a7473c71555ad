package dev.cai.app;

import dev.cai.runtime.bench.RuntimeBenchmark;
import dev.cai.runtime.bench.TrainBenchmark;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.ComputeThreads;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.train.AdamW;
import dev.cai.runtime.train.LinearWarmupDecay;
import dev.cai.runtime.train.Trainer;
import dev.cai.runtime.weights.LoadedModel;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code cai bench}: throughput benchmarks (never timed unit tests); results go to BENCHMARKS.md by hand. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.", subcommands = {BenchCommand.Runtime.class, BenchSlCommand.class, BenchMetricsCommand.class, BenchClusterCommand.class})
final class BenchCommand {

  /** {@code cai bench runtime}. */
  @Command(name = "runtime", mixinStandardHelpOptions = true,
      description = "On the model: the machine's float32 1024x1024 matmul GFLOP/s, prefill tokens/s, decode tokens/s at "
          + "batch 1, 8 and 32, the bounds of batch-32 decode here (its weight products alone; the memory stream), then "
          + "SFT step time and peak memory at batch x sequence (default 8 x 256).")
  static final class Runtime implements Callable<Integer> {
    /** The decode target of issue 3: tokens/s at batch 32 on this 2-core machine. */
    private static final double DECODE_TARGET = 1000;

    @Spec picocli.CommandLine.Model.CommandSpec spec;
    @Mixin ModelOptions model;

    @Option(names = "--threads", defaultValue = "0", description = "PyTorch compute threads (0 = engine default).")
    int threads;

    @Option(names = "--repeats", defaultValue = "3", description = "Best of N for each figure (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--train-batch", defaultValue = "8", description = "SFT rows (default: ${DEFAULT-VALUE}).")
    int trainBatch;

    @Option(names = "--train-seq", defaultValue = "256", description = "SFT tokens per row (default: ${DEFAULT-VALUE}).")
    int trainSeq;

    @Option(names = "--train-micro", defaultValue = "2", description = "SFT micro-batches per step (default: ${DEFAULT-VALUE}).")
    int trainMicro;

    @Option(names = "--skip-train", description = "Only inference figures.")
    boolean skipTrain;

    @Override
    public Integer call() {
      var out = spec.commandLine().getOut();
      if (threads > 0) {
        ComputeThreads.set(threads);
      }
      try (LoadedModel m = ModelFiles.load(model.modelPath())) {
        out.printf("model %s, %d cores, OMP_WAIT_POLICY=%s%n", m.modelId(), java.lang.Runtime.getRuntime().availableProcessors(),
            System.getenv().getOrDefault("OMP_WAIT_POLICY", "(unset)"));
        RuntimeBenchmark.Settings s = new RuntimeBenchmark.Settings(64, 32, 8, repeats);
        RuntimeBenchmark.Result r = RuntimeBenchmark.run(m.weights(), model.deviceSetting(), s);
        out.println("inference: " + r);
        long weightCount = m.weights().tensors().values().stream().mapToLong(t -> t.numel()).sum();
        double gflopPerToken = 2.0 * weightCount / 1e9;
        out.printf("  forward cost %.3f GFLOP/token: decode at batch 32 uses %.0f%% of the measured matmul ceiling%n",
            gflopPerToken, 100 * r.decodeTokensPerSecondBatch32() * gflopPerToken / r.matmulGflops());
        RuntimeBenchmark.Gemms g = r.gemmsBatch32();
        out.printf("  batch-32 decode step: its weight products alone take %.1f ms (%.1f GFLOP/s, %.0f%% of the matmul "
            + "ceiling), so at most %.0f tokens/s even if nothing else cost time; %.0f tokens/s would need them at "
            + "%.0f GFLOP/s; the float32 weights (%.2f GB) streamed once per step at %.1f GB/s take %.1f ms%n",
            g.millisPerStep(), g.gflops(), 100 * g.gflops() / r.matmulGflops(), g.tokensPerSecond(),
            DECODE_TARGET, DECODE_TARGET * g.flops() / g.rows() / 1e9, 4.0 * weightCount / 1e9,
            r.streamGbPerSecond(), 4.0 * weightCount / r.streamGbPerSecond() / 1e6);
        if (!skipTrain) {
          try (LlamaModel lm = LlamaModel.create(m.weights(), model.deviceSetting());
               Trainer trainer = new Trainer(lm, List.of(), new Trainer.Settings(new AdamW.Settings(0.9, 0.999, 1e-8, 0.0),
                   new LinearWarmupDecay(1e-5, 1, 1000, 0.0), 1.0))) {
            out.println("training:  " + TrainBenchmark.run(trainer, m.weights().config(), trainBatch, trainSeq, 2, trainMicro));
          }
        }
      }
      return 0;
    }
  }
}
