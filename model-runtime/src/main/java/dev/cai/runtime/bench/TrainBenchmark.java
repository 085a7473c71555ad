package dev.cai.runtime.bench;

import ai.djl.Device;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.train.AdamW;
import dev.cai.runtime.train.LinearWarmupDecay;
import dev.cai.runtime.train.TokenBatch;
import dev.cai.runtime.train.Trainer;
import dev.cai.runtime.train.TrainRng;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Supervised fine-tuning speed and memory of a SmolLM2-135M-shaped model (random weights) on the CPU: step time
 * and peak resident memory (heap + native, {@code VmHWM} of {@code /proc/self/status}) for a batch of
 * {@code rows × seqLen} tokens, run as a single micro-batch and as {@code microBatches} accumulated ones.
 *
 * <p>Usage: {@code TrainBenchmark [rows=8] [seqLen=256] [steps=2] [microBatches=2]}.
 *
 * <p>Measured 2026-11-24 on the shared 2-core CI box (2 torch threads, CPU), 134,515,008 parameters, AdamW moments
 * and gradients included, {@code java -Xmx2g -XX:+UnlockExperimentalVMOptions -XX:+UseEpsilonGC
 * -Dai.djl.offline=true -cp ... dev.cai.runtime.bench.TrainBenchmark 8 256 2 2}:
 * <ul>
 *   <li>8 × 256 tokens per step as 2 accumulated micro-batches of 4 × 256: peak RSS 5.71 GiB (heap + native);</li>
 *   <li>8 × 256 tokens as one micro-batch: peak RSS 8.12 GiB (just over the 8 GiB budget: use accumulation).</li>
 * </ul>
 * Steps took 10–72 s on that box (two runs, other builds sharing the 2 cores; the first step of each setting
 * includes warm-up). The LM head runs in 64 MiB pieces of target rows ({@code Trainer#causalLmLoss}); before
 * that change the same runs peaked at 6.01 and 8.76 GiB.
 * Epsilon GC (no collection) was used because the model's differentiable forward currently passes Java numbers to
 * DJL ops whose backward reads them; a collection between forward and backward can free those (see the disabled
 * test in {@code TrainerTest}). The heap held 0.54 GiB at the end; step times vary with the box's other load.
 */
public final class TrainBenchmark {
  private static final long GIB = 1L << 30;

  /** One configuration's measurements. */
  public record Result(int rows, int seqLen, int microBatches, List<Double> stepSeconds, List<Double> losses,
      long peakRssBytes, long heapUsedBytes) {
    @Override
    public String toString() {
      return String.format(Locale.ROOT, "batch %d x %d tokens in %d micro-batch(es): step seconds %s, loss %s,"
          + " peak RSS (VmHWM) %.2f GiB, heap used %.2f GiB", rows, seqLen, microBatches, fmt(stepSeconds),
          fmt(losses), peakRssBytes / (double) GIB, heapUsedBytes / (double) GIB);
    }
  }

  private TrainBenchmark() {}

  public static void main(String[] args) throws IOException {
    int rows = args.length > 0 ? Integer.parseInt(args[0]) : 8;
    int seqLen = args.length > 1 ? Integer.parseInt(args[1]) : 256;
    int steps = args.length > 2 ? Integer.parseInt(args[2]) : 2;
    int micro = args.length > 3 ? Integer.parseInt(args[3]) : 2;
    long t0 = System.nanoTime();
    // The host weights are garbage once the model holds them natively.
    try (LlamaModel model = LlamaModel.create(RuntimeBenchmark.randomSmolLm2Shaped(1), Device.cpu());
        Trainer trainer = new Trainer(model, List.of(), new Trainer.Settings(new AdamW.Settings(0.9, 0.95, 1e-8, 0.1),
            new LinearWarmupDecay(1e-4, 1, 1000, 0.1), 1.0))) {
      LlamaConfig config = model.config();
      System.gc();
      System.out.printf(Locale.ROOT, "model: %,d parameters, built in %.1f s, RSS %.2f GiB%n",
          model.namedParameters().values().stream().mapToLong(a -> a.getShape().size()).sum(),
          (System.nanoTime() - t0) / 1e9, status("VmRSS") / (double) GIB);
      // Accumulated micro-batches first, then the whole batch at once (the larger peak), each peak measured alone.
      for (int m : micro > 1 ? new int[] {micro, 1} : new int[] {1}) {
        resetPeakRss();
        System.out.println(run(trainer, config, rows, seqLen, steps, m));
      }
    }
  }

  /** Runs {@code steps} SFT steps on random tokens (first quarter of each row is an unlearned prompt). */
  public static Result run(Trainer trainer, LlamaConfig config, int rows, int seqLen, int steps, int microBatches) {
    if (rows % microBatches != 0) {
      throw new IllegalArgumentException(rows + " rows do not split into " + microBatches + " micro-batches");
    }
    TrainRng rng = new TrainRng(42);
    int per = rows / microBatches;
    List<TokenBatch> batches = new ArrayList<>();
    for (int b = 0; b < microBatches; b++) {
      int[] ids = new int[per * seqLen];
      int[] attn = new int[per * seqLen];
      int[] loss = new int[per * seqLen];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = rng.nextInt(config.vocabSize());
        attn[i] = 1;
        loss[i] = i % seqLen >= seqLen / 4 ? 1 : 0;
      }
      batches.add(new TokenBatch(per, seqLen, ids, attn, loss));
    }
    List<Double> seconds = new ArrayList<>();
    List<Double> losses = new ArrayList<>();
    for (int s = 0; s < steps; s++) {
      long start = System.nanoTime();
      Trainer.StepResult r = trainer.sftStep(batches);
      seconds.add((System.nanoTime() - start) / 1e9);
      losses.add(r.loss());
    }
    Runtime rt = Runtime.getRuntime();
    return new Result(rows, seqLen, microBatches, seconds, losses, status("VmHWM"), rt.totalMemory() - rt.freeMemory());
  }

  /** A {@code kB} field of /proc/self/status in bytes, or -1 where there is none (not Linux). */
  static long status(String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  /** Resets VmHWM to the current RSS (Linux ≥ 4.0: write 5 to clear_refs); best effort. */
  static void resetPeakRss() {
    try {
      Files.writeString(Path.of("/proc/self/clear_refs"), "5");
    } catch (IOException | RuntimeException e) {
      System.out.println("(could not reset VmHWM: " + e.getMessage() + ")");
    }
  }

  private static String fmt(List<Double> xs) {
    StringBuilder sb = new StringBuilder("[");
    for (double x : xs) {
      sb.append(sb.length() > 1 ? ", " : "").append(String.format(Locale.ROOT, "%.3f", x));
    }
    return sb.append(']').toString();
  }
}
