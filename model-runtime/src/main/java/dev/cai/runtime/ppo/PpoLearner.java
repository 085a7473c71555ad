package dev.cai.runtime.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.cai.runtime.io.Checkpoint;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.model.GradMode;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.train.AdamW;
import dev.cai.runtime.train.CausalLmLoss;
import dev.cai.runtime.train.LinearWarmupDecay;
import dev.cai.runtime.train.ScalarHead;
import dev.cai.runtime.train.TrainRng;
import dev.cai.runtime.train.Trainer;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelWeights;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * The PPO learner of RL-CAI (GUIDE §5; Ziegler et al. 2019; Huang et al. 2024): a policy and a critic (LM trunk +
 * value head), each with its own AdamW. One {@link #update} on a rollout batch:
 * <ol>
 *   <li>drops rollouts more than {@code maxStaleness} versions old;
 *   <li>recomputes the policy's log-probs at the sampling temperature and the critic's values (no gradients);
 *   <li>per-token rewards −β·KL_t with the score (and the missing-EOS penalty) on the last token, optionally
 *       whitened; GAE advantages and returns; advantages whitened over the batch; stale rollouts' advantages
 *       weighted by the truncated importance ratio min(isCap, π_learner/π_behaviour);
 *   <li>{@code epochs} passes of shuffled minibatches: a clipped-surrogate step (minus the entropy bonus) of the
 *       policy and a clipped value-loss step of the critic, each with gradient clipping;
 *   <li>adapts β (if adaptive) to the batch's mean KL and advances the policy version.
 * </ol>
 * Deterministic given the seed and the batches: the minibatch order comes from an RNG whose state is part of
 * {@link #snapshot()}. One learner, one thread (DJL allows one gradient collector at a time).
 */
public final class PpoLearner implements AutoCloseable {
  private final PpoSettings settings;
  private final LlamaModel policy;
  private final Trainer policyTrainer;
  private final LlamaModel critic;
  private final ScalarHead valueHead;
  private final Trainer criticTrainer;
  private final int padId;
  private KlController kl;
  private TrainRng rng;
  private long version;

  private PpoLearner(PpoSettings settings, LlamaModel policy, LlamaModel critic, ScalarHead valueHead, TrainRng rng) {
    this.settings = settings;
    this.policy = policy;
    this.critic = critic;
    this.valueHead = valueHead;
    this.policyTrainer = new Trainer(policy, List.of(), trainerSettings(settings.lr(), settings.maxGradNorm()));
    this.criticTrainer = new Trainer(critic, List.of(valueHead), trainerSettings(settings.criticLr(), settings.maxGradNorm()));
    this.padId = Math.max(policy.config().padTokenId(), 0);
    this.kl = settings.klController();
    this.rng = rng;
  }

  /**
   * A learner whose policy starts from {@code policy} (version 0) and whose critic is {@code criticTrunk} plus a
   * value head: {@code value_head.*} or {@code reward_head.*} tensors of {@code criticHead} (copied), or a fresh
   * seeded head when it is empty.
   */
  public static PpoLearner create(ModelWeights policy, ModelWeights criticTrunk, Map<String, HostTensor> criticHead,
      DeviceSetting device, PpoSettings settings, long seed) {
    if (policy.config().vocabSize() != criticTrunk.config().vocabSize()) {
      throw new IllegalArgumentException("Policy " + policy.source() + " and critic " + criticTrunk.source()
          + " have different vocabularies (" + policy.config().vocabSize() + " vs " + criticTrunk.config().vocabSize()
          + "): the critic must read the policy's tokens");
    }
    LlamaModel p = LlamaModel.create(policy, device);
    LlamaModel c = null;
    try {
      c = LlamaModel.create(criticTrunk, device);
      TrainRng rng = new TrainRng(seed);
      ScalarHead head = valueHead(criticHead, c, rng);
      return new PpoLearner(settings, p, c, head, rng);
    } catch (RuntimeException e) {
      if (c != null) {
        c.close();
      }
      p.close();
      throw e;
    }
  }

  private static ScalarHead valueHead(Map<String, HostTensor> tensors, LlamaModel critic, TrainRng rng) {
    int hidden = critic.config().hiddenSize();
    String v = ScalarHead.VALUE_HEAD;
    if (tensors.containsKey(ScalarHead.weightName(v))) {
      return ScalarHead.fromTensors(v, hidden, tensors, critic.manager());
    }
    String r = ScalarHead.REWARD_HEAD;
    if (tensors.containsKey(ScalarHead.weightName(r))) { // lm-human-preferences: the value function starts as the reward model
      HostTensor w = tensors.get(ScalarHead.weightName(r));
      HostTensor b = tensors.get(ScalarHead.biasName(r));
      if (b == null) {
        throw new IllegalArgumentException("Reward head has a weight but no '" + ScalarHead.biasName(r) + "'");
      }
      return ScalarHead.fromTensors(v, hidden, Map.of(
          ScalarHead.weightName(v), new HostTensor(ScalarHead.weightName(v), w.shape(), w.data()),
          ScalarHead.biasName(v), new HostTensor(ScalarHead.biasName(v), b.shape(), b.data())), critic.manager());
    }
    if (!tensors.isEmpty()) {
      throw new IllegalArgumentException("Critic head tensors " + tensors.keySet() + " hold neither "
          + ScalarHead.weightName(v) + " nor " + ScalarHead.weightName(r));
    }
    return ScalarHead.create(v, hidden, rng, critic.manager());
  }

  /** Constant rate (no warm-up, no decay); Adam ε 1e-5 as in lm-human-preferences; no weight decay. */
  private static Trainer.Settings trainerSettings(double lr, double maxGradNorm) {
    return new Trainer.Settings(new AdamW.Settings(0.9, 0.999, 1e-5, 0.0),
        new LinearWarmupDecay(lr, 0, Long.MAX_VALUE, 1.0), maxGradNorm);
  }

  public PpoSettings settings() {
    return settings;
  }

  /** Policy version: updates applied since version 0. */
  public long version() {
    return version;
  }

  /** The KL coefficient β the next batch's rewards use. */
  public double klCoef() {
    return kl.klCoef();
  }

  // ---------------------------------------------------------------------------------------------
  // One update

  /**
   * One PPO update on a rollout batch; the version goes up by one. Rollouts more than {@code maxStaleness} versions
   * old are dropped; if all are, the weights stay as they are but the version still advances (batch k ↔ version k).
   */
  public UpdateStats update(List<RolloutSample> batch) {
    long t0 = System.nanoTime();
    Map<Long, Integer> staleness = new TreeMap<>();
    List<RolloutSample> kept = new ArrayList<>();
    for (RolloutSample r : batch) {
      long age = version - r.policyVersion();
      if (age < 0) {
        throw new IllegalArgumentException("Rollout " + r.promptId() + " comes from policy version " + r.policyVersion()
            + " but the learner is at version " + version);
      }
      checkTokens(r);
      staleness.merge(age, 1, Integer::sum);
      if (age <= settings.maxStaleness()) {
        kept.add(r);
      }
    }
    int dropped = batch.size() - kept.size();
    double beta = kl.klCoef();
    if (kept.isEmpty()) {
      version++;
      return new UpdateStats(version, 0, dropped, staleness, Double.NaN, Double.NaN, Double.NaN, beta, Double.NaN,
          Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
          millisSince(t0));
    }
    int n = kept.size();

    // 1. Log-probs and values of the current models (the "old" policy and values of this update).
    float[][] logprobs = new float[n][];
    float[][] values = new float[n][];
    forward(kept, logprobs, values);

    // 2. Rewards, GAE, whitening, importance weights of stale rollouts.
    float[][] rewards = new float[n][];
    double klSum = 0;
    double scoreSum = 0;
    double lengthSum = 0;
    int eos = 0;
    for (int i = 0; i < n; i++) {
      RolloutSample r = kept.get(i);
      float[] k = Rewards.kl(logprobs[i], r.refLogprobs(), settings.klEstimator());
      for (float x : k) {
        klSum += x;
      }
      rewards[i] = Rewards.tokenRewards(logprobs[i], r.refLogprobs(), beta, settings.klEstimator(), r.score(),
          r.endedWithEos(), settings.missingEosPenalty());
      scoreSum += r.score();
      lengthSum += r.responseIds().length;
      eos += r.endedWithEos() ? 1 : 0;
    }
    if (settings.whitenRewards()) {
      rewards = Whitening.whiten(rewards, false);
    }
    float[][] advantages = new float[n][];
    float[][] returns = new float[n][];
    for (int i = 0; i < n; i++) {
      Gae.Result g = Gae.compute(rewards[i], values[i], settings.gamma(), settings.lambda());
      advantages[i] = g.advantages();
      returns[i] = g.returns();
    }
    advantages = Whitening.whiten(advantages, true);
    for (int i = 0; i < n; i++) {
      RolloutSample r = kept.get(i);
      if (r.policyVersion() < version) {
        advantages[i] = importanceWeighted(advantages[i], logprobs[i], r.sampledLogprobs(), settings.isCap());
      }
    }

    // 3. Epochs of shuffled minibatches.
    Diagnostics d = new Diagnostics();
    List<int[]> plan = Minibatches.plan(n, settings.minibatchSize(), settings.epochs(), new SplittableRandom(rng.nextLong()));
    Trainer.MicroBatchLoss<Micro> policyLoss = policyLoss(d);
    Trainer.MicroBatchLoss<Micro> valueLoss = valueLoss(d);
    double gradNormSum = 0;
    for (int[] mb : plan) {
      List<Micro> micros = new ArrayList<>();
      for (int from = 0; from < mb.length; from += settings.microBatchSize()) {
        int[] idx = Arrays.copyOfRange(mb, from, Math.min(mb.length, from + settings.microBatchSize()));
        PpoBatch b = PpoBatch.of(kept, idx, padId);
        micros.add(new Micro(b, b.flatten(logprobs), b.flatten(advantages), b.flatten(values), b.flatten(returns)));
      }
      gradNormSum += policyTrainer.step(micros, policyLoss).gradNorm();
      criticTrainer.step(micros, valueLoss);
    }

    kl = kl.update(klSum / n, n);
    version++;
    double tokens = d.policyTokens;
    return new UpdateStats(version, n, dropped, staleness, scoreSum / n, klSum / n, -beta * klSum / n, beta,
        d.approxKl / tokens, d.clipped / tokens, d.valueClipped / d.valueTokens, d.entropy / tokens,
        d.policyLoss / tokens, d.valueLoss / d.valueTokens, explainedVariance(returns, values), lengthSum / n,
        (double) eos / n, gradNormSum / plan.size(), millisSince(t0));
  }

  private void checkTokens(RolloutSample r) {
    int vocab = policy.config().vocabSize();
    for (int[] ids : List.of(r.promptIds(), r.responseIds())) {
      for (int id : ids) {
        if (id < 0 || id >= vocab) {
          throw new IllegalArgumentException("Rollout " + r.promptId() + " has token id " + id + " outside the policy's "
              + "vocabulary of " + vocab);
        }
      }
    }
    int len = r.promptIds().length + r.responseIds().length;
    if (len > policy.maxSequenceLength()) {
      throw new IllegalArgumentException("Rollout " + r.promptId() + " has " + len + " tokens; the policy's context is "
          + policy.maxSequenceLength());
    }
  }

  /** A_t · min(cap, exp(log π_learner − log π_behaviour)): truncated importance weighting of a stale rollout. */
  static float[] importanceWeighted(float[] advantages, float[] learnerLogprobs, float[] behaviourLogprobs, double cap) {
    float[] out = new float[advantages.length];
    for (int t = 0; t < out.length; t++) {
      double w = Math.min(cap, Math.exp((double) learnerLogprobs[t] - behaviourLogprobs[t]));
      out[t] = (float) (advantages[t] * w);
    }
    return out;
  }

  /** 1 − Var(R − V)/Var(R) over every token (population variances). */
  static double explainedVariance(float[][] returns, float[][] values) {
    double n = 0;
    double sr = 0;
    double sd = 0;
    for (int i = 0; i < returns.length; i++) {
      for (int t = 0; t < returns[i].length; t++) {
        n++;
        sr += returns[i][t];
        sd += returns[i][t] - values[i][t];
      }
    }
    double mr = sr / n;
    double md = sd / n;
    double vr = 0;
    double vd = 0;
    for (int i = 0; i < returns.length; i++) {
      for (int t = 0; t < returns[i].length; t++) {
        double r = returns[i][t] - mr;
        double e = returns[i][t] - values[i][t] - md;
        vr += r * r;
        vd += e * e;
      }
    }
    return vr == 0 ? Double.NaN : 1 - vd / vr;
  }

  /** The policy's log-probs at the sampling temperature and the critic's values, without gradients. */
  private void forward(List<RolloutSample> kept, float[][] logprobs, float[][] values) {
    GradMode.disabled(() -> {
      for (int from = 0; from < kept.size(); from += settings.microBatchSize()) {
        int[] idx = new int[Math.min(settings.microBatchSize(), kept.size() - from)];
        for (int k = 0; k < idx.length; k++) {
          idx[k] = from + k;
        }
        PpoBatch b = PpoBatch.of(kept, idx, padId);
        try (NDManager scratch = policy.manager().newSubManager()) {
          b.scatter(policyForward(scratch, b).logprobs().toFloatArray(), logprobs);
        }
        try (NDManager scratch = critic.manager().newSubManager()) {
          b.scatter(criticValues(scratch, b).toFloatArray(), values);
        }
      }
      return null;
    });
  }

  /** log_softmax(logits / T)[token] of every target of a batch [n], and the tempered logits [n, V]. */
  private record PolicyForward(NDArray logprobs, NDArray logits) {}

  private PolicyForward policyForward(NDManager scratch, PpoBatch b) {
    NDArray hidden = policy.forwardHidden(b.tokens().inputIds(scratch), b.tokens().attentionMask(scratch));
    NDArray rows = CausalLmLoss.selectRows(hidden, b.targets());
    NDArray logits = policy.logits(rows).mul(scratch.create((float) (1.0 / settings.temperature())));
    NDArray ids = scratch.create(b.targets().ids()).reshape(b.targets().count(), 1);
    NDArray logp = logits.logSoftmax(-1).gather(ids, 1).squeeze(1);
    return new PolicyForward(logp, logits);
  }

  private NDArray criticValues(NDManager scratch, PpoBatch b) {
    NDArray hidden = critic.forwardHidden(b.tokens().inputIds(scratch), b.tokens().attentionMask(scratch));
    return valueHead.perToken(CausalLmLoss.selectRows(hidden, b.targets()));
  }

  /** One micro-batch of a minibatch with its per-token constants, flattened in target order. */
  private record Micro(PpoBatch batch, float[] oldLogprobs, float[] advantages, float[] oldValues, float[] returns) {}

  /** Token-weighted sums of the diagnostics over every minibatch step of an update. */
  private static final class Diagnostics {
    double policyTokens;
    double valueTokens;
    double approxKl;
    double clipped;
    double valueClipped;
    double entropy;
    double policyLoss;
    double valueLoss;
  }

  /** Σ_t over the micro-batch of the clipped surrogate minus entCoef·H_t (Trainer divides by the minibatch's tokens). */
  private Trainer.MicroBatchLoss<Micro> policyLoss(Diagnostics d) {
    return tokenWeighted((scratch, m) -> {
      int n = m.batch().targets().count();
      PolicyForward f = policyForward(scratch, m.batch());
      NDArray ones = scratch.ones(new ai.djl.ndarray.types.Shape(n));
      PpoLosses.PolicyLoss pl = PpoLosses.policy(f.logprobs(), scratch.create(m.oldLogprobs()),
          scratch.create(m.advantages()), ones, settings.clipRange());
      NDArray entropy = PpoLosses.entropy(f.logits(), ones);
      d.policyTokens += n;
      d.approxKl += pl.approxKl().getFloat() * n;
      d.clipped += pl.clipFraction().getFloat() * n;
      d.entropy += entropy.getFloat() * n;
      d.policyLoss += pl.loss().getFloat() * n;
      NDArray mean = settings.entCoef() == 0 ? pl.loss()
          : pl.loss().sub(entropy.mul(scratch.create((float) settings.entCoef())));
      return mean.mul(scratch.create((float) n)); // constants as arrays of scratch (see MicroBatchLoss)
    });
  }

  /** Σ_t over the micro-batch of vfCoef · the clipped value loss. */
  private Trainer.MicroBatchLoss<Micro> valueLoss(Diagnostics d) {
    return tokenWeighted((scratch, m) -> {
      int n = m.batch().targets().count();
      NDArray v = criticValues(scratch, m.batch());
      PpoLosses.ValueLoss vl = PpoLosses.value(v, scratch.create(m.oldValues()), scratch.create(m.returns()),
          scratch.ones(new ai.djl.ndarray.types.Shape(n)), settings.clipRangeValue());
      d.valueTokens += n;
      d.valueLoss += vl.loss().getFloat() * n;
      d.valueClipped += vl.clipFraction().getFloat() * n;
      return vl.loss().mul(scratch.create((float) (settings.vfCoef() * n)));
    });
  }

  /** A loss summed over a micro-batch's response tokens, weighted by their count (the minibatch mean per token). */
  private static Trainer.MicroBatchLoss<Micro> tokenWeighted(
      java.util.function.BiFunction<NDManager, Micro, NDArray> lossSum) {
    return new Trainer.MicroBatchLoss<>() {
      @Override
      public double weight(Micro m) {
        return m.batch().targets().count();
      }

      @Override
      public NDArray lossSum(NDManager scratch, Micro m) {
        return lossSum.apply(scratch, m);
      }
    };
  }

  private static long millisSince(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }

  // ---------------------------------------------------------------------------------------------
  // Weights and state

  /** A host copy of the current policy weights, labelled with the version. */
  public ModelWeights policyWeights() {
    return policy.exportWeights("policy v" + version);
  }

  /** Everything needed to continue bit-identically: version, β, RNG, both models with optimizer moments. */
  public LearnerSnapshot snapshot() {
    Checkpoint p = policyTrainer.checkpoint(version, rng.state(), Map.of("kind", "ppo-policy"), Optional.empty());
    Checkpoint c = criticTrainer.checkpoint(version, rng.state(), Map.of("kind", "ppo-critic"), Optional.empty());
    return new LearnerSnapshot(version, kl.klCoef(), rng.state(), p, c);
  }

  /** Bytes of the tensors {@link #state()} holds (policy and critic: weights, heads, Adam moments), as float32. */
  public long stateBytes() {
    return (long) Float.BYTES * (policyTrainer.stateFloats() + criticTrainer.stateFloats());
  }

  /**
   * The learner's live state for {@link LearnerStateCodec#encode(LearnerStateCodec.StateSource, List,
   * java.util.function.BiConsumer)}: tensors are copied to the heap one at a time as the encoder asks for them, so a
   * commit never holds the whole state (3.2 GB for a 135M policy and critic) in memory. Use it between updates.
   */
  public LearnerStateCodec.StateSource state() {
    return new LearnerStateCodec.StateSource() {
      @Override
      public long version() {
        return version;
      }

      @Override
      public double klCoef() {
        return kl.klCoef();
      }

      @Override
      public long rngState() {
        return rng.state();
      }

      private Trainer t(String role) {
        return role.equals("policy") ? policyTrainer : criticTrainer;
      }

      @Override
      public long optimizerStep(String role) {
        return t(role).step();
      }

      @Override
      public Map<String, String> hyperparameters(String role) {
        return t(role).optimizerHyperparameters();
      }

      @Override
      public Map<String, String> trainerAttributes(String role) {
        return t(role).stateAttributes(Map.of("kind", "ppo-" + role));
      }

      @Override
      public void exportTensors(String role, Trainer.StateVisitor visitor) {
        t(role).exportState(visitor);
      }
    };
  }

  /**
   * Where {@link LearnerStateCodec#restore} loads a stored state into this learner (built from the same base model
   * shapes): each tensor goes straight into the live parameter or a new optimizer moment, so the heap never holds more
   * than the tensor at hand. The first tensor of a role drops that role's optimizer moments; after a failed restore
   * the learner holds a mix of states: close it.
   */
  public LearnerStateCodec.StateTarget restoreTarget() {
    return new LearnerStateCodec.StateTarget() {
      private final Map<String, Trainer.StateImport> imports = new HashMap<>();

      private Trainer trainer(String role) {
        return switch (role) {
          case "policy" -> policyTrainer;
          case "critic" -> criticTrainer;
          default -> throw new IllegalArgumentException("unknown model role '" + role + "'");
        };
      }

      @Override
      public void tensor(String role, String part, String name, long[] shape, ByteBuffer data) {
        imports.computeIfAbsent(role, r -> trainer(r).importState()).tensor(part, name, shape, data);
      }

      @Override
      public void finish(LearnerStateCodec.Scalars s) {
        for (String role : List.of("policy", "critic")) {
          Trainer.StateImport i = imports.get(role);
          if (i == null) {
            throw new IllegalArgumentException("it has no " + role + " tensors");
          }
          try {
            i.finish(s.optimizerStep(role));
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(role + ": " + e.getMessage(), e);
          }
        }
        kl = new KlController(s.klCoef(), settings.targetKl(), settings.klHorizon(), settings.adaptiveKl());
        rng = new TrainRng(s.rngState());
        version = s.version();
      }
    };
  }

  /** Replaces this learner's whole state with {@code s} (built from the same base model shapes). */
  public void restore(LearnerSnapshot s) {
    policyTrainer.restore(s.policy());
    criticTrainer.restore(s.critic());
    kl = new KlController(s.klCoef(), settings.targetKl(), settings.klHorizon(), settings.adaptiveKl());
    rng = new TrainRng(s.rngState());
    version = s.version();
  }

  @Override
  public void close() {
    policyTrainer.close();
    criticTrainer.close();
    valueHead.close();
    critic.close();
    policy.close();
  }
}
