package dev.cai.runtime.ppo;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** The order in which PPO visits a rollout batch: several epochs, each a fresh shuffle cut into minibatches. */
public final class Minibatches {
  private Minibatches() {}

  /**
   * Index arrays, epoch by epoch; the last minibatch of an epoch may be smaller. Deterministic for a
   * given {@code rng} state (the learner persists that state for exact resume).
   */
  public static List<int[]> plan(int batchSize, int minibatchSize, int epochs, SplittableRandom rng) {
    if (batchSize < 1 || minibatchSize < 1 || epochs < 1) {
      throw new IllegalArgumentException("need batchSize, minibatchSize, epochs >= 1, got "
          + batchSize + ", " + minibatchSize + ", " + epochs);
    }
    List<int[]> plan = new ArrayList<>();
    for (int e = 0; e < epochs; e++) {
      int[] perm = new int[batchSize];
      for (int i = 0; i < batchSize; i++) {
        perm[i] = i;
      }
      for (int i = batchSize - 1; i > 0; i--) { // Fisher–Yates
        int j = rng.nextInt(i + 1);
        int tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
      }
      for (int start = 0; start < batchSize; start += minibatchSize) {
        int[] mb = new int[Math.min(minibatchSize, batchSize - start)];
        System.arraycopy(perm, start, mb, 0, mb.length);
        plan.add(mb);
      }
    }
    return plan;
  }
}
