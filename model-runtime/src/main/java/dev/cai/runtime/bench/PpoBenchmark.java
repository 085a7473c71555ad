package dev.cai.runtime.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cai.runtime.eval.RewardModel;
import dev.cai.runtime.generate.ContinuationScorer;
import dev.cai.runtime.generate.GeneratedSequence;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.generate.Generator;
import dev.cai.runtime.io.CheckpointStore;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.io.SafetensorsFile;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.ppo.PpoLearner;
import dev.cai.runtime.ppo.PpoSettings;
import dev.cai.runtime.ppo.Rewards;
import dev.cai.runtime.ppo.RolloutSample;
import dev.cai.runtime.ppo.UpdateStats;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.LoadedModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The PPO learner on real checkpoints without actors or streams (a synchronous loop: sample a batch with the current
 * policy, reference log-probs, PM scores, one update, reload the sampler): per-phase times and the learner's
 * diagnostics, one JSON line per update. Measures what the learner itself costs; the online pipeline adds overlap.
 *
 * <p>Usage: {@code PpoBenchmark SL_MODEL_DIR PM_DIR PROMPTS.jsonl [updates=4] [batch=8] [maxNewTokens=48]
 * [lr=1e-5] [epochs=2] [minibatch=4] [microBatch=4] [temperature=0.7] [beta=0.05] [evalEvery=5] [evalPrompts=16] [missingEosPenalty=-1]}: every
 * {@code evalEvery} versions (0 included) it samples the last {@code evalPrompts} prompts of the file (never trained
 * on) with fixed seeds and reports their mean PM score, a low-noise view of the policy's progress.
 */
public final class PpoBenchmark {
  private PpoBenchmark() {}

  public static void main(String[] args) throws IOException {
    Path sl = Path.of(args[0]);
    Path pm = Path.of(args[1]);
    List<String> prompts = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(args[2]), StandardCharsets.UTF_8)) {
      if (!line.isBlank()) {
        JsonObject o = JsonParser.parseString(line).getAsJsonObject();
        prompts.add((o.has("prompt") ? o.get("prompt") : o.get("text")).getAsString());
      }
    }
    int updates = arg(args, 3, 4);
    int batch = arg(args, 4, 8);
    int maxNew = arg(args, 5, 48);
    double lr = args.length > 6 ? Double.parseDouble(args[6]) : 1e-5;
    int epochs = arg(args, 7, 2);
    int minibatch = arg(args, 8, 4);
    int micro = arg(args, 9, 4);
    double temperature = args.length > 10 ? Double.parseDouble(args[10]) : 0.7;
    double beta = args.length > 11 ? Double.parseDouble(args[11]) : 0.05;
    int evalEvery = arg(args, 12, 5);
    int evalCount = arg(args, 13, 16);
    double eosPenalty = args.length > 14 ? Double.parseDouble(args[14]) : -1.0;
    List<String> evalPrompts = new ArrayList<>(prompts.subList(prompts.size() - evalCount, prompts.size()));
    prompts = new ArrayList<>(prompts.subList(0, prompts.size() - evalCount));
    PpoSettings s = new PpoSettings(epochs, minibatch, micro, lr, lr, 1.0, 0.2, 0.2, 0.1, 0.0, 1.0, 0.95, false,
        temperature, Rewards.KlEstimator.K1, eosPenalty, beta, false, 6.0, 10_000, 1, 2.0);

    long t0 = System.nanoTime();
    try (LoadedModel policyBase = ModelFiles.load(sl);
        RewardModel reward = RewardModel.load(pm, DeviceSetting.CPU);
        LlamaModel sampler = LlamaModel.create(policyBase.weights(), DeviceSetting.CPU);
        LlamaModel reference = LlamaModel.create(policyBase.weights(), DeviceSetting.CPU)) {
      Map<String, HostTensor> head;
      try (SafetensorsFile f = SafetensorsFile.open(pm.resolve(CheckpointStore.HEADS))) {
        head = f.readAllFloat32();
      }
      try (PpoLearner learner = PpoLearner.create(policyBase.weights(), reward.loaded().weights(), head,
          DeviceSetting.CPU, s, 1)) {
        System.out.printf(Locale.ROOT, "{\"setup_s\": %.1f}%n", (System.nanoTime() - t0) / 1e9);
        for (int u = 0; u < updates; u++) {
          if (u % evalEvery == 0) {
            evaluate(u, sampler, reward, policyBase, evalPrompts, maxNew, temperature);
          }
          List<List<ChatMessage>> convs = new ArrayList<>();
          List<int[]> ids = new ArrayList<>();
          for (int i = 0; i < batch; i++) {
            List<ChatMessage> c = List.of(ChatMessage.user(prompts.get((u * batch + i) % prompts.size())));
            convs.add(c);
            ids.add(policyBase.tokenizer().encode(policyBase.chatTemplate().render(c, true)));
          }
          long g0 = System.nanoTime();
          List<GeneratedSequence> seqs = new Generator(sampler).generate(ids,
              GenerationSettings.sampling(maxNew, temperature, 1000L + u), null).sequences();
          long g1 = System.nanoTime();
          List<float[]> ref = new ContinuationScorer(reference).tokenLogProbs(ids,
              seqs.stream().map(GeneratedSequence::tokens).toList(), temperature);
          long g2 = System.nanoTime();
          List<String> texts = seqs.stream().map(q -> policyBase.tokenizer().decode(q.tokens(), true).strip()).toList();
          double[] raw = reward.rawScores(convs, texts);
          long g3 = System.nanoTime();
          List<RolloutSample> rollouts = new ArrayList<>();
          int tokens = 0;
          for (int i = 0; i < batch; i++) {
            GeneratedSequence q = seqs.get(i);
            tokens += q.tokens().length;
            rollouts.add(new RolloutSample("p" + i, ids.get(i), q.tokens(), q.logProbs(), ref.get(i),
                reward.normalize(raw[i]), q.endedWithEos(), learner.version()));
          }
          UpdateStats st = learner.update(rollouts);
          long g4 = System.nanoTime();
          sampler.loadWeights(learner.policyWeights());
          long g5 = System.nanoTime();
          System.out.printf(Locale.ROOT, "{\"version\": %d, \"score\": %.4f, \"kl\": %.4f, \"approx_kl\": %.5f, "
              + "\"clip\": %.3f, \"entropy\": %.3f, \"value_loss\": %.4f, \"ev\": %.3f, \"len\": %.1f, \"eos\": %.2f, "
              + "\"generate_s\": %.1f, \"reference_s\": %.1f, \"pm_s\": %.1f, \"update_s\": %.1f, \"publish_s\": %.1f, "
              + "\"response_tokens\": %d}%n", st.version(), st.meanScore(), st.kl(), st.approxKl(), st.clipFraction(),
              st.entropy(), st.valueLoss(), st.explainedVariance(), st.meanResponseLength(), st.eosRate(),
              (g1 - g0) / 1e9, (g2 - g1) / 1e9, (g3 - g2) / 1e9, (g4 - g3) / 1e9, (g5 - g4) / 1e9, tokens);
        }
        evaluate(updates, sampler, reward, policyBase, evalPrompts, maxNew, temperature);
      }
    }
    System.out.printf(Locale.ROOT, "{\"total_s\": %.1f}%n", (System.nanoTime() - t0) / 1e9);
  }

  /** Mean normalised PM score of fixed-seed samples of the held-out prompts at policy {@code version}. */
  private static void evaluate(int version, LlamaModel sampler, RewardModel reward, LoadedModel base,
      List<String> prompts, int maxNew, double temperature) {
    long e0 = System.nanoTime();
    List<List<ChatMessage>> convs = prompts.stream().map(p -> List.of(ChatMessage.user(p))).toList();
    List<int[]> ids = convs.stream().map(c -> base.tokenizer().encode(base.chatTemplate().render(c, true))).toList();
    List<GeneratedSequence> seqs = new Generator(sampler).generate(ids,
        GenerationSettings.sampling(maxNew, temperature, 424242L), null).sequences();
    double[] raw = reward.rawScores(convs, seqs.stream().map(q -> base.tokenizer().decode(q.tokens(), true).strip()).toList());
    double mean = 0;
    for (double r : raw) {
      mean += reward.normalize(r) / raw.length;
    }
    System.out.printf(Locale.ROOT, "{\"eval_version\": %d, \"eval_score\": %.4f, \"eval_prompts\": %d, \"eval_s\": %.1f}%n",
        version, mean, raw.length, (System.nanoTime() - e0) / 1e9);
  }

  private static int arg(String[] args, int i, int def) {
    return args.length > i ? Integer.parseInt(args[i]) : def;
  }
}
