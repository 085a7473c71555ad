package dev.cai.runtime.ppo;

import dev.cai.runtime.generate.ContinuationScorer;
import dev.cai.runtime.generate.GeneratedSequence;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.generate.Generator;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.model.TinyModels;
import dev.cai.runtime.weights.ModelWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

/**
 * A synchronous RL loop on tiny models for tests: the policy copy samples a batch, the frozen reference scores it,
 * a programmatic reward scores each response, the learner updates, the new weights are loaded into the copy.
 */
final class TinyRlLoop implements AutoCloseable {
  final LlamaModel sampler;
  final LlamaModel reference;
  final PpoLearner learner;
  final List<int[]> prompts;
  final int maxNewTokens;
  final ToDoubleFunction<int[]> reward;

  TinyRlLoop(ModelWeights base, PpoLearner learner, int promptCount, int maxNewTokens, ToDoubleFunction<int[]> reward) {
    this.sampler = LlamaModel.create(base, DeviceSetting.CPU);
    this.reference = LlamaModel.create(base, DeviceSetting.CPU);
    this.learner = learner;
    this.maxNewTokens = maxNewTokens;
    this.reward = reward;
    this.prompts = new ArrayList<>();
    SplittableRandom rnd = new SplittableRandom(5);
    for (int i = 0; i < promptCount; i++) {
      int[] p = new int[2 + rnd.nextInt(4)];
      for (int j = 0; j < p.length; j++) {
        p[j] = 3 + rnd.nextInt(60); // no BOS/EOS/PAD in prompts
      }
      prompts.add(p);
    }
  }

  /** Rollouts of batch {@code k} sampled by the sampler's current weights (labelled {@code version}). */
  List<RolloutSample> rollouts(int k, long version) {
    double t = learner.settings().temperature();
    GenerationSettings s = GenerationSettings.sampling(maxNewTokens, t, 1000L + k);
    List<GeneratedSequence> seqs = new Generator(sampler).generate(prompts, s).sequences();
    List<int[]> responses = seqs.stream().map(GeneratedSequence::tokens).toList();
    List<float[]> ref = new ContinuationScorer(reference).tokenLogProbs(prompts, responses, t);
    List<RolloutSample> out = new ArrayList<>();
    for (int i = 0; i < prompts.size(); i++) {
      GeneratedSequence g = seqs.get(i);
      out.add(new RolloutSample("p" + i, prompts.get(i), g.tokens(), g.logProbs(), ref.get(i),
          reward.applyAsDouble(g.tokens()), g.endedWithEos(), version));
    }
    return out;
  }

  /** Samples, updates and republishes {@code updates} times; returns each update's stats. */
  List<UpdateStats> run(int updates) {
    List<UpdateStats> stats = new ArrayList<>();
    for (int u = 0; u < updates; u++) {
      stats.add(learner.update(rollouts((int) learner.version(), learner.version())));
      sampler.loadWeights(learner.policyWeights());
    }
    return stats;
  }

  /** Share of tokens in {@code tokens} among the response tokens. */
  static double share(int[] response, java.util.Set<Integer> tokens) {
    int c = 0;
    for (int id : response) {
      c += tokens.contains(id) ? 1 : 0;
    }
    return (double) c / response.length;
  }

  /** Share of {@code token} among the response tokens. */
  static double share(int[] response, int token) {
    int c = 0;
    for (int id : response) {
      c += id == token ? 1 : 0;
    }
    return (double) c / response.length;
  }

  static ModelWeights base() {
    return TinyModels.weights(TinyModels.config(false), 3);
  }

  @Override
  public void close() {
    sampler.close();
    reference.close();
    learner.close();
  }
}
