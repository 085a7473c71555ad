package dev.cai.runtime.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.cai.runtime.generate.GenerationResult;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.generate.Generator;
import dev.cai.runtime.model.ComputeThreads;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.model.RandomWeights;
import dev.cai.runtime.weights.ModelWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Throughput of the runtime on one model: DJL 1024×1024 float32 matmul GFLOP/s, prefill tokens/s and
 * greedy KV-cache decode tokens/s at batch 1, 8 and 32, each after a warm-up run.
 */
public final class RuntimeBenchmark {
  private static final int MATMUL_N = 1024;

  /**
   * Benchmark sizes: prompt tokens per sequence, new tokens per decode run, sequences in the prefill run, and
   * timed repeats of each measurement (the best is reported, which filters out noise from other processes).
   */
  public record Settings(int promptLength, int newTokens, int prefillBatch, int repeats) {
    public Settings {
      if (promptLength <= 0 || newTokens < 2 || prefillBatch <= 0 || repeats <= 0) {
        throw new IllegalArgumentException("Benchmark needs promptLength > 0, newTokens >= 2, prefillBatch > 0, "
            + "repeats > 0; got " + promptLength + ", " + newTokens + ", " + prefillBatch + ", " + repeats);
      }
    }

    public static Settings defaults() {
      return new Settings(64, 32, 8, 3);
    }
  }

  /** Measured throughputs; decode figures count generated tokens of all sequences per second of decode steps. */
  public record Result(String device, int computeThreads, double matmulGflops, double prefillTokensPerSecond,
      double decodeTokensPerSecondBatch1, double decodeTokensPerSecondBatch8,
      double decodeTokensPerSecondBatch32) {

    @Override
    public String toString() {
      return String.format(Locale.ROOT, "device=%s threads=%d matmul1024=%.1f GFLOP/s prefill=%.0f tok/s "
          + "decode b1=%.1f b8=%.1f b32=%.1f tok/s", device, computeThreads, matmulGflops, prefillTokensPerSecond,
          decodeTokensPerSecondBatch1, decodeTokensPerSecondBatch8, decodeTokensPerSecondBatch32);
    }
  }

  private RuntimeBenchmark() {}

  /** Loads {@code weights} on the chosen device and benchmarks it. */
  public static Result run(ModelWeights weights, DeviceSetting device, Settings settings) {
    try (LlamaModel model = LlamaModel.create(weights, device)) {
      return run(model, settings);
    }
  }

  /** Benchmarks an already loaded model. */
  public static Result run(LlamaModel model, Settings settings) {
    double gflops = 0;
    for (int r = 0; r < settings.repeats(); r++) {
      gflops = Math.max(gflops, matmulGflops(model.manager()));
    }
    Generator generator = new Generator(model);
    GenerationSettings oneToken = GenerationSettings.greedy(2).withStopAtEos(false);
    generator.generate(prompts(model.config(), settings.prefillBatch(), settings.promptLength(), 1), oneToken);
    double prefillTps = 0;
    for (int r = 0; r < settings.repeats(); r++) {
      GenerationResult prefill = generator.generate(
          prompts(model.config(), settings.prefillBatch(), settings.promptLength(), 2 + r), oneToken);
      prefillTps = Math.max(prefillTps, prefill.promptTokens() / (prefill.prefillNanos() / 1e9));
    }
    double[] decode = new double[3];
    int[] batches = {1, 8, 32};
    for (int i = 0; i < batches.length; i++) {
      decode[i] = decodeTokensPerSecond(generator, model.config(), batches[i], settings);
    }
    return new Result(model.device().toString(), ComputeThreads.get(), gflops, prefillTps, decode[0], decode[1], decode[2]);
  }

  /** Random weights with SmolLM2-135M's shapes: hidden 576, 30 layers, 9 heads, 3 kv heads, vocab 49152. */
  public static ModelWeights randomSmolLm2Shaped(long seed) {
    LlamaConfig c = new LlamaConfig(49_152, 576, 1_536, 30, 9, 3, 64, 100_000.0, 1e-5, 8_192, true, 1, 2, 0);
    return RandomWeights.create(c, seed, 0.02);
  }

  /** Runs the benchmark on random SmolLM2-shaped weights; optional arguments: auto|cpu|gpu, compute threads. */
  public static void main(String[] args) {
    DeviceSetting device = args.length > 0 ? DeviceSetting.parse(args[0]) : DeviceSetting.AUTO;
    if (args.length > 1) {
      ComputeThreads.set(Integer.parseInt(args[1]));
    }
    System.out.println(run(randomSmolLm2Shaped(1), device, Settings.defaults()));
  }

  private static double decodeTokensPerSecond(Generator generator, LlamaConfig config, int batch, Settings s) {
    GenerationSettings gs = GenerationSettings.greedy(s.newTokens()).withStopAtEos(false);
    generator.generate(prompts(config, batch, s.promptLength(), 3), GenerationSettings.greedy(4).withStopAtEos(false));
    double best = 0;
    for (int rep = 0; rep < s.repeats(); rep++) {
      GenerationResult r = generator.generate(prompts(config, batch, s.promptLength(), 4 + rep), gs);
      best = Math.max(best, (double) batch * r.decodeSteps() / (r.decodeNanos() / 1e9));
    }
    return best;
  }

  /** GFLOP/s of a 1024×1024 float32 matmul on the model's device (3 warm-up products, then ≥ 0.3 s). */
  static double matmulGflops(NDManager parent) {
    try (NDManager m = parent.newSubManager()) {
      NDArray a = m.randomUniform(-1f, 1f, new Shape(MATMUL_N, MATMUL_N));
      NDArray b = m.randomUniform(-1f, 1f, new Shape(MATMUL_N, MATMUL_N));
      for (int i = 0; i < 3; i++) {
        a.matMul(b).close();
      }
      a.matMul(b).getFloat(0, 0); // synchronise the device
      int iterations = 0;
      long start = System.nanoTime();
      long elapsed;
      do {
        NDArray c = a.matMul(b);
        c.getFloat(0, 0);
        c.close();
        iterations++;
        elapsed = System.nanoTime() - start;
      } while (elapsed < 300_000_000L);
      return 2.0 * MATMUL_N * MATMUL_N * MATMUL_N * iterations / elapsed;
    }
  }

  private static List<int[]> prompts(LlamaConfig config, int batch, int length, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    List<int[]> out = new ArrayList<>(batch);
    for (int i = 0; i < batch; i++) {
      int[] p = new int[length];
      for (int j = 0; j < length; j++) {
        p[j] = 3 + rng.nextInt(config.vocabSize() - 3);
      }
      out.add(p);
    }
    return out;
  }
}
