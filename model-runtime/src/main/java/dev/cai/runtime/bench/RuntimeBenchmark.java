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
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Throughput of the runtime on one model: DJL 1024×1024 float32 matmul GFLOP/s, prefill tokens/s and
 * greedy KV-cache decode tokens/s at batch 1, 8 and 32, each after a warm-up run; and two bounds of batch-32
 * decode on this machine: the tokens/s its weight matrix products alone allow, and the memory bandwidth that
 * streams the weights once per step.
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
      double decodeTokensPerSecondBatch32, Gemms gemmsBatch32, double streamGbPerSecond) {

    @Override
    public String toString() {
      return String.format(Locale.ROOT, "device=%s threads=%d matmul1024=%.1f GFLOP/s prefill=%.0f tok/s "
          + "decode b1=%.1f b8=%.1f b32=%.1f tok/s; b32 weight products alone %.1f ms/step (%.1f GFLOP/s) => "
          + "at most %.0f tok/s; memory stream %.1f GB/s", device, computeThreads, matmulGflops,
          prefillTokensPerSecond, decodeTokensPerSecondBatch1, decodeTokensPerSecondBatch8,
          decodeTokensPerSecondBatch32, gemmsBatch32.millisPerStep(), gemmsBatch32.gflops(),
          gemmsBatch32.tokensPerSecond(), streamGbPerSecond);
    }
  }

  /**
   * The weight matrix products of one decode step at {@code rows} sequences, timed alone: every matrix the decode
   * multiplies by (fused q|k|v and gate|up, the LM head included) applied once to a [rows, in] input, {@code flops} in
   * all.
   */
  public record Gemms(int rows, double flops, double millisPerStep) {
    /** Achieved GFLOP/s of those products. */
    public double gflops() {
      return flops / millisPerStep / 1e6;
    }

    /** Decode tokens/s if the products were the only cost of a step. */
    public double tokensPerSecond() {
      return rows * 1000.0 / millisPerStep;
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
    return new Result(model.device().toString(), ComputeThreads.get(), gflops, prefillTps, decode[0], decode[1],
        decode[2], decodeGemms(model, 32), streamGbPerSecond(model.manager()));
  }

  /**
   * Times the weight products of one decode step at {@code rows} sequences, best of 3 passes after a warm-up pass:
   * each of the model's {@link LlamaModel#inferenceMatrices} W [out, in] as linear(x [rows, in], W), like the decode
   * itself; the attention over the cache, norms, activations and sampling are left out.
   */
  static Gemms decodeGemms(LlamaModel model, int rows) {
    List<NDArray> weights = model.inferenceMatrices();
    double flops = 0;
    for (NDArray w : weights) {
      flops += 2.0 * rows * w.getShape().get(0) * w.getShape().get(1);
    }
    try (NDManager m = model.manager().newSubManager()) {
      Map<Long, NDArray> inputs = new HashMap<>();
      for (NDArray w : weights) {
        inputs.computeIfAbsent(w.getShape().get(1), in -> m.randomUniform(-1f, 1f, new Shape(rows, in)));
      }
      long best = Long.MAX_VALUE;
      for (int pass = 0; pass < 4; pass++) {
        long start = System.nanoTime();
        for (NDArray w : weights) {
          NDArray x = inputs.get(w.getShape().get(1));
          NDArray y = LlamaModel.linear(x, w);
          y.getFloat(0, 0); // synchronise the device
          y.close();
        }
        long elapsed = System.nanoTime() - start;
        best = pass == 0 ? best : Math.min(best, elapsed);
      }
      return new Gemms(rows, flops, best / 1e6);
    }
  }

  /** GB/s of summing 400 MB of float32 (read once, about as much as SmolLM2-135M's float32 weights). */
  static double streamGbPerSecond(NDManager parent) {
    long floats = 100_000_000L;
    try (NDManager m = parent.newSubManager()) {
      NDArray big = m.ones(new Shape(floats));
      big.sum().getFloat(); // warm-up: the pages are touched
      long best = Long.MAX_VALUE;
      for (int i = 0; i < 3; i++) {
        long start = System.nanoTime();
        big.sum().getFloat();
        best = Math.min(best, System.nanoTime() - start);
      }
      return 4.0 * floats / best;
    }
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
