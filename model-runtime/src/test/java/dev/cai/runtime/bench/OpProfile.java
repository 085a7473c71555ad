package dev.cai.runtime.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.function.Supplier;

/** Manual profiling of single ops at SmolLM2 decode shapes (not a test). */
public final class OpProfile {
  public static void main(String[] args) {
    int b = Integer.parseInt(args.length > 0 ? args[0] : "32");
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray x = m.randomUniform(-1, 1, new Shape(b, 1, 576));
      NDArray x2 = m.randomUniform(-1, 1, new Shape(b, 576));
      NDArray wqkv = m.randomUniform(-1, 1, new Shape(960, 576));
      NDArray wgu = m.randomUniform(-1, 1, new Shape(3072, 576));
      NDArray wd = m.randomUniform(-1, 1, new Shape(576, 1536));
      NDArray xd = m.randomUniform(-1, 1, new Shape(b, 1, 1536));
      NDArray wl = m.randomUniform(-1, 1, new Shape(49152, 576));
      NDArray cache = m.zeros(new Shape(b, 3, 96, 64));
      NDArray kNew = m.randomUniform(-1, 1, new Shape(b, 1, 3, 64)).transpose(0, 2, 1, 3);
      time("linear qkv 3d", () -> lin(x, wqkv));
      time("linear qkv 2d", () -> lin(x2, wqkv));
      time("matmul qkv 2d transpose", () -> x2.matMul(wqkv.transpose()));
      time("linear gateUp", () -> lin(x, wgu));
      NDArray wguT = wgu.transpose().duplicate();
      NDArray x2d = x.reshape(b, 576);
      time("matmul gateUp pretransposed", () -> x2d.matMul(wguT));
      time("linear gateUp 2d", () -> lin(x2d, wgu));
      NDArray x256 = m.randomUniform(-1, 1, new Shape(256, 576));
      time("linear gateUp M=256", () -> lin(x256, wgu));
      time("matmul gateUp M=256 pretransposed", () -> x256.matMul(wguT));
      time("linear down", () -> lin(xd, wd));
      time("linear lmhead", () -> lin(x, wl));
      time("cache set", () -> { cache.set(new NDIndex(":, :, {}:{}", 70, 71), kNew); return cache; });
      time("cache get", () -> cache.get(new NDIndex(":, :, :{}", 71)));
      NDArray q = m.randomUniform(-1, 1, new Shape(b, 3, 3, 64));
      NDArray k = cache.get(new NDIndex(":, :, :{}", 71));
      time("scores", () -> q.matMul(k.transpose(0, 1, 3, 2)));
      time("mul small", () -> x.mul(2f));
    }
  }

  static NDArray lin(NDArray x, NDArray w) {
    return x.getNDArrayInternal().linear(x, w, null).singletonOrThrow();
  }

  static void time(String name, Supplier<NDArray> op) {
    for (int i = 0; i < 3; i++) {
      op.get().toFloatArray();
    }
    int n = 20;
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      op.get().reshape(-1).getFloat(0);
    }
    System.out.printf("%-28s %8.3f ms%n", name, (System.nanoTime() - t0) / 1e6 / n);
  }
}
