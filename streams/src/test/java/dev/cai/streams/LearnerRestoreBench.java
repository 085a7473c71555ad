package dev.cai.streams;

import dev.cai.persistence.RecordStore;
import dev.cai.persistence.RocksKvStore;
import dev.cai.persistence.StoreSettings;
import dev.cai.protocol.v1.LearnerStateHeader;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.ppo.LearnerStateCodec;
import dev.cai.runtime.ppo.PpoLearner;
import dev.cai.runtime.ppo.PpoSettings;
import dev.cai.runtime.weights.LoadedModel;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Restores the committed PPO learner state of a run's store into a learner built from an SL checkpoint (policy and
 * critic trunk both from it: the restore overwrites every tensor), and prints the restore time, the peak heap during
 * the restore (sum of the heap pools' peaks since just before it), the Java direct memory in use after it and the
 * process's peak resident memory. {@code stream} restores tensor by tensor ({@link LearnerStateCodec#restore});
 * {@code snapshot} decodes the whole state into host memory first ({@link LearnerStateCodec#decode}) and restores the
 * snapshot, as the learner did before. With {@code verify} it then re-encodes the learner's state and checks that
 * every tensor has the SHA-256 the store's header names (restored exactly).
 *
 * <p>The store is opened read-only and never written: the benchmark runs inside the read-only check that precedes a
 * writable open, then refuses the store. Usage: {@code LearnerRestoreBench STORE_DIR SL_MODEL_DIR stream|snapshot
 * [verify] [others=N]} ({@code others}: N more models of the checkpoint stay loaded, like the reference, preference and
 * policy models of an RL run, whose weights also live in Java direct memory); run it with the test classpath and, for a heap bound, {@code -Xmx}.
 */
public final class LearnerRestoreBench {
  private LearnerRestoreBench() {}

  /** Thrown to leave the read-only check without opening the store for writing. */
  private static final class Done extends RuntimeException {
    Done() {
      super("done", null, false, false);
    }
  }

  public static void main(String[] args) throws Exception {
    Path store = Path.of(args[0]);
    Path sl = Path.of(args[1]);
    boolean stream = args[2].equals("stream");
    boolean verify = List.of(args).contains("verify");
    int others = List.of(args).stream().filter(a -> a.startsWith("others=")).mapToInt(a -> Integer.parseInt(a.substring(7)))
        .findFirst().orElse(0);
    PpoLearner learner;
    LlamaConfig config;
    List<LlamaModel> otherModels = new ArrayList<>();
    long t0 = System.nanoTime();
    try (LoadedModel policy = ModelFiles.load(sl)) {
      config = policy.weights().config();
      learner = PpoLearner.create(policy.weights(), policy.weights(), Map.of(), DeviceSetting.CPU,
          PpoSettings.defaults(), 1);
      for (int i = 0; i < others; i++) { // the other models of an RL run: reference, PM, policy actor
        otherModels.add(LlamaModel.create(policy.weights(), DeviceSetting.CPU));
      }
    }
    long built = System.nanoTime();
    try (learner) {
      System.gc();
      long directBefore = direct();
      List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream()
          .filter(p -> p.getType() == MemoryType.HEAP).toList();
      heap.forEach(MemoryPoolMXBean::resetPeakUsage);
      long heapBefore = heap.stream().mapToLong(p -> p.getUsage().getUsed()).sum();
      long[] times = new long[2];
      LearnerStateHeader[] header = new LearnerStateHeader[1];
      try {
        RocksKvStore.open(store, RecordStore.columnFamilies(), StoreSettings.defaults(), kv -> {
          RecordStore rs = RecordStore.adopt(kv);
          header[0] = rs.learnerHeader().orElseThrow(() -> new IllegalStateException(store + " has no learner state"));
          times[0] = System.nanoTime();
          if (stream) {
            LearnerStateCodec.restore(header[0], rs::learnerState, rs.location(), learner.restoreTarget());
          } else {
            learner.restore(LearnerStateCodec.decode(header[0], rs::learnerState, config, config, rs.location()));
          }
          times[1] = System.nanoTime();
          throw new Done();
        });
      } catch (Done expected) {
        // the store was only read
      }
      long heapPeak = heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
      System.gc();
      System.out.printf(Locale.ROOT, "mode %s, %d other models: build %.1f s, restore of version %d (%d tensors) %.1f s; heap before "
          + "%d MiB, peak during restore <= %d MiB; direct memory %d MiB before, %d MiB after; VmHWM %s; max heap %d MiB%n",
          args[2], others, (built - t0) / 1e9, learner.version(), header[0].getTensorNamesCount(), (times[1] - times[0]) / 1e9,
          heapBefore >> 20, heapPeak >> 20, directBefore >> 20, direct() >> 20, vmHwm(),
          Runtime.getRuntime().maxMemory() >> 20);
      if (verify) {
        heap.forEach(MemoryPoolMXBean::resetPeakUsage);
        long e0 = System.nanoTime();
        List<String> again = LearnerStateCodec.encode(learner.state(), List.of(), (k, v) -> { }).getTensorNamesList();
        System.out.printf(Locale.ROOT, "verify (a commit's encoding, without the store): %.1f s, heap peak <= %d MiB%n",
            (System.nanoTime() - e0) / 1e9, heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum() >> 20);
        System.out.println(again.equals(header[0].getTensorNamesList())
            ? "verify: every restored tensor has the SHA-256 the header names"
            : "verify: MISMATCH between the restored state and the header");
      }
    } finally {
      otherModels.forEach(LlamaModel::close);
    }
  }

  private static long direct() {
    return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
        .filter(b -> b.getName().equals("direct")).mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
  }

  private static String vmHwm() throws Exception {
    return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmHWM"))
        .map(l -> l.substring(6).trim()).findFirst().orElse("?");
  }
}
