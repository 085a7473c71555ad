package dev.cai.runtime.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.cai.runtime.model.KvCache;
import dev.cai.runtime.model.LlamaModel;

/** Manual profiling of cached decode steps at SmolLM2 shapes (not a test). */
public final class DecodeProfile {
  public static void main(String[] args) {
    int b = Integer.parseInt(args.length > 0 ? args[0] : "32");
    int layersOverride = args.length > 1 ? Integer.parseInt(args[1]) : -1;
    try (LlamaModel model = LlamaModel.create(RuntimeBenchmark.randomSmolLm2Shaped(1), Device.cpu())) {
      int p = 64;
      int steps = 16;
      try (KvCache cache = model.newCache(b, p + steps + 1); NDManager m = model.manager().newSubManager()) {
        long[] ids = new long[b * p];
        long[] mask = new long[b * p];
        java.util.Arrays.fill(ids, 5);
        java.util.Arrays.fill(mask, 1);
        NDArray maskArr = m.create(mask, new Shape(b, p));
        NDArray big = m.randomUniform(-1, 1, new Shape(100_000_000L));
        for (int rep = 0; rep < 4; rep++) {
          long r0 = System.nanoTime();
          big.sum().getFloat();
          System.out.printf("sum of 400 MB: %.1f ms => %.1f GB/s%n", (System.nanoTime() - r0) / 1e6,
              0.4 / ((System.nanoTime() - r0) / 1e9));
        }
        big.close();
        long f0 = System.nanoTime();
        try (NDManager w = m.newSubManager()) {
          model.inferenceHidden(w.create(new long[] {5}, new Shape(1, 1)), w.create(new long[] {1}, new Shape(1, 1)));
        }
        System.out.printf("fuse weights + 1 token: %.1f ms%n", (System.nanoTime() - f0) / 1e6);
        for (int rep = 0; rep < 2; rep++) {
          try (NDManager w = m.newSubManager()) {
            long r0 = System.nanoTime();
            model.inferenceHidden(w.create(ids, new Shape(b, p)), maskArr).getFloat(0, 0, 0);
            System.out.printf("no-cache forward %d x %d: %.1f ms%n", b, p, (System.nanoTime() - r0) / 1e6);
          }
        }
        long t0 = System.nanoTime();
        model.decodeStep(m.create(ids, new Shape(b, p)), LlamaModel.positionIds(maskArr),
            LlamaModel.attentionBias(maskArr), cache).toFloatArray();
        System.out.printf("prefill %d x %d: %.1f ms%n", b, p, (System.nanoTime() - t0) / 1e6);
        long stepTotal = 0;
        long lsTotal = 0;
        for (int s = 0; s < steps; s++) {
          try (NDManager step = m.newSubManager()) {
            long[] next = new long[b];
            java.util.Arrays.fill(next, 7);
            long[] pos = new long[b];
            java.util.Arrays.fill(pos, p + s);
            long a = System.nanoTime();
            NDArray logits = model.decodeStep(step.create(next, new Shape(b, 1)), step.create(pos, new Shape(b, 1)),
                step.zeros(new Shape(b, 1, 1, 1, cache.length() + 1)), cache);
            logits.getFloat(0, 0);
            long c = System.nanoTime();
            logits.logSoftmax(-1).toFloatArray();
            long d = System.nanoTime();
            if (s >= 2) {
              stepTotal += c - a;
              lsTotal += d - c;
            }
          }
        }
        System.out.printf("decode b=%d: step %.1f ms, logsoftmax+copy %.1f ms => %.0f tok/s%n", b,
            stepTotal / 1e6 / (steps - 2), lsTotal / 1e6 / (steps - 2), b * (steps - 2) / ((stepTotal + lsTotal) / 1e9));
      }
    }
  }
}
