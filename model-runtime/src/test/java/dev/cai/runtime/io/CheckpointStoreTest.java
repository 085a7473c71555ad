package dev.cai.runtime.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.model.RandomWeights;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelLoadException;
import dev.cai.runtime.weights.ModelWeights;
import dev.cai.runtime.weights.TensorNames;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointStoreTest {
  private static final LlamaConfig CONFIG = new LlamaConfig(32, 16, 24, 2, 2, 1, 8, 10_000.0, 1e-6, 64, true, 0, 1, 2);

  @TempDir Path dir;

  @Test
  void shouldRoundTripEverythingBitForBit() throws IOException {
    Path tok = HuggingFaceDirectoryTest.copyFixture(dir.resolve("hf")).resolve("tokenizer.json");
    Checkpoint c = checkpoint(3, 11, Optional.of(tok));
    Path ckpt = dir.resolve("ckpt");
    CheckpointStore.save(ckpt, c);
    Checkpoint back = CheckpointStore.load(ckpt);

    assertEquals(CONFIG, back.model().config());
    assertSameTensors(c.model().tensors(), back.model().tensors());
    assertSameTensors(c.heads(), back.heads());
    OptimizerState o = back.optimizer().orElseThrow();
    assertEquals(3, o.step());
    assertSameTensors(c.optimizer().get().firstMoments(), o.firstMoments());
    assertSameTensors(c.optimizer().get().secondMoments(), o.secondMoments());
    assertEquals(Map.of("beta1", "0.9"), o.hyperparameters());
    assertEquals(c.trainerState(), back.trainerState());
    assertEquals(Files.readString(tok), Files.readString(back.tokenizerJson().orElseThrow()));
    assertEquals(Files.readString(tok.resolveSibling("tokenizer_config.json")),
        Files.readString(ckpt.resolve("tokenizer_config.json")));
    // Hugging Face layout: the same directory loads as a plain HF model (optimizer/heads files ignored).
    assertEquals(CONFIG, HuggingFaceDirectory.loadWeights(ckpt).config());
  }

  @Test
  void shouldReplaceAnExistingCheckpointAndLeaveNoTemporaryFiles() throws IOException {
    Path ckpt = dir.resolve("ckpt");
    CheckpointStore.save(ckpt, checkpoint(1, 1, Optional.empty()));
    CheckpointStore.save(ckpt, checkpoint(2, 2, Optional.empty()));
    assertEquals(2, CheckpointStore.load(ckpt).trainerState().orElseThrow().step());
    assertEquals(List.of("ckpt"), list(dir));
  }

  @Test
  void shouldKeepThePreviousCheckpointWhenASaveFails() throws IOException {
    Path ckpt = dir.resolve("ckpt");
    CheckpointStore.save(ckpt, checkpoint(1, 1, Optional.empty()));
    Checkpoint bad = checkpoint(2, 2, Optional.of(dir.resolve("no-such-tokenizer.json")));
    assertThrows(NoSuchFileException.class, () -> CheckpointStore.save(ckpt, bad));
    assertEquals(1, CheckpointStore.load(ckpt).trainerState().orElseThrow().step());
    assertEquals(List.of("ckpt"), list(dir));
  }

  @Test
  void shouldRecoverFromACrashAtAnyPointOfASave() throws IOException {
    Path ckpt = dir.resolve("ckpt");
    CheckpointStore.save(ckpt, checkpoint(1, 1, Optional.empty()));
    // Crash while writing the new copy: a half-written temp directory is left next to the checkpoint.
    Path tmp = Files.createDirectory(dir.resolve(".ckpt.tmp-123"));
    Files.write(tmp.resolve("model.safetensors"), new byte[] {1, 2, 3});
    assertEquals(1, CheckpointStore.load(ckpt).trainerState().orElseThrow().step());
    assertFalse(Files.exists(tmp));
    // Crash between the two renames: the old copy was set aside, the new one not yet moved in.
    Files.move(ckpt, dir.resolve(".ckpt.old-456"));
    Files.createDirectory(dir.resolve(".ckpt.tmp-789"));
    assertEquals(1, CheckpointStore.load(ckpt).trainerState().orElseThrow().step());
    assertEquals(List.of("ckpt"), list(dir));
  }

  @Test
  void shouldRejectInconsistentOrCorruptFilesNamingFileAndTensor() throws IOException {
    Path ckpt = dir.resolve("ckpt");
    Checkpoint good = checkpoint(4, 9, Optional.empty());
    CheckpointStore.save(ckpt, good);
    Path opt = ckpt.resolve(CheckpointStore.OPTIMIZER);

    Map<String, HostTensor> m = new HashMap<>(good.optimizer().get().firstMoments());
    m.put(TensorNames.FINAL_NORM, new HostTensor(TensorNames.FINAL_NORM, new long[] {3}, new float[3]));
    Map<String, HostTensor> v = new HashMap<>(good.optimizer().get().secondMoments());
    v.put(TensorNames.FINAL_NORM, new HostTensor(TensorNames.FINAL_NORM, new long[] {3}, new float[3]));
    CheckpointStore.writeOptimizer(opt, new OptimizerState(4, m, v, Map.of()));
    assertLoadFails(ckpt, opt + ": tensor 'exp_avg.model.norm.weight' has shape [3] but parameter 'model.norm.weight'"
        + " has shape [16]");

    CheckpointStore.writeOptimizer(opt, new OptimizerState(5, good.optimizer().get().firstMoments(),
        good.optimizer().get().secondMoments(), Map.of()));
    assertLoadFails(ckpt, "optimizer step 5 (optimizer.safetensors) differs from trainer step 4 (trainer_state.json)");

    CheckpointStore.writeOptimizer(opt, good.optimizer().get());
    Files.writeString(ckpt.resolve(CheckpointStore.TRAINER_STATE), "{\"format\": \"cai-trainer-state-v1\", \"step\": ");
    assertLoadFails(ckpt, ckpt.resolve(CheckpointStore.TRAINER_STATE) + ": is not valid trainer state JSON");

    CheckpointStore.writeTrainerState(ckpt.resolve(CheckpointStore.TRAINER_STATE), good.trainerState().get());
    Path model = ckpt.resolve(CheckpointStore.MODEL);
    byte[] bytes = Files.readAllBytes(model);
    Files.write(model, Arrays.copyOf(bytes, bytes.length - 10));
    assertLoadFails(ckpt, model + ": tensor 'model.norm.weight': data_offsets");

    Files.delete(model);
    assertLoadFails(ckpt, "not a checkpoint: model.safetensors is missing");
  }

  private static void assertLoadFails(Path ckpt, String part) {
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> CheckpointStore.load(ckpt));
    assertTrue(e.getMessage().contains(part), e.getMessage());
  }

  /** A checkpoint of random weights, a head and moments that differ per parameter. */
  private static Checkpoint checkpoint(long step, long seed, Optional<Path> tokenizer) {
    ModelWeights w = RandomWeights.create(CONFIG, seed, 0.1);
    Map<String, HostTensor> heads = Map.of(
        "value_head.weight", new HostTensor("value_head.weight", new long[] {1, 16}, ramp(16, 0.5f)),
        "value_head.bias", new HostTensor("value_head.bias", new long[] {1}, new float[] {-0.25f}));
    Map<String, HostTensor> m = new HashMap<>();
    Map<String, HostTensor> v = new HashMap<>();
    Map<String, HostTensor> all = new HashMap<>(w.tensors());
    all.putAll(heads);
    all.forEach((k, t) -> {
      m.put(k, new HostTensor(k, t.shape(), ramp(t.data().length, 1e-3f * k.length())));
      v.put(k, new HostTensor(k, t.shape(), ramp(t.data().length, 1e-7f * k.length())));
    });
    return new Checkpoint(w, heads, Optional.of(new OptimizerState(step, m, v, Map.of("beta1", "0.9"))),
        Optional.of(new TrainerState(step, 8 * step, -seed * 0x9E3779B97F4A7C15L, Map.of("kl_coef", "0.05"))),
        tokenizer);
  }

  private static float[] ramp(int n, float scale) {
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = scale * (i - n / 3f);
    }
    return out;
  }

  private static void assertSameTensors(Map<String, HostTensor> want, Map<String, HostTensor> got) {
    assertEquals(want.keySet(), got.keySet());
    want.forEach((k, t) -> {
      assertArrayEquals(t.shape(), got.get(k).shape(), k);
      assertArrayEquals(t.data(), got.get(k).data(), 0f, k);
    });
  }

  private static List<String> list(Path d) throws IOException {
    try (Stream<Path> s = Files.list(d)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> !n.equals("hf")).sorted().toList();
    }
  }
}
