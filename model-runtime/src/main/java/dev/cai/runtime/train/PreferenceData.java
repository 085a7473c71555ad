package dev.cai.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.ppo.PreferenceLoss;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.tokenizer.ChatTemplate;
import dev.cai.runtime.tokenizer.TextTokenizer;
import dev.cai.runtime.weights.HostTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Preference-model data and objective (Bai et al. 2022, §4.1): each comparison becomes two sequences,
 * conversation + response A and conversation + response B (each ending in the end-of-turn token, where the
 * reward head reads), with the soft label p(A); the loss is the soft Bradley–Terry cross-entropy.
 */
public final class PreferenceData {
  private PreferenceData() {}

  /** One comparison as token ids: the two full sequences and p(A preferred). */
  public record Pair(int[] a, int[] b, float pA) {}

  /** One comparison as text: the conversation, the two replies and p(A preferred). */
  public record Example(List<ChatMessage> conversation, String a, String b, double pA) {}

  /** A micro-batch: 2n right-padded rows (the n A-sequences, then their n B-sequences) and the n labels. */
  public record PairBatch(TokenBatch rows, float[] pA) {
    public int pairs() {
      return pA.length;
    }
  }

  /** The token ids of {@code response} after {@code conversation}, as the policy would have produced it. */
  public static int[] sequence(List<ChatMessage> conversation, String response, ChatTemplate template, TextTokenizer tokenizer) {
    int[] prompt = tokenizer.encode(template.render(conversation, true));
    int[] reply = tokenizer.encode(response.strip() + template.endOfTurn());
    int[] ids = new int[prompt.length + reply.length];
    System.arraycopy(prompt, 0, ids, 0, prompt.length);
    System.arraycopy(reply, 0, ids, prompt.length, reply.length);
    return ids;
  }

  /** The pair, or empty when a sequence is longer than {@code maxLen} tokens. */
  public static Optional<Pair> encode(List<ChatMessage> conversation, String responseA, String responseB, double pA,
      ChatTemplate template, TextTokenizer tokenizer, int maxLen) {
    if (!(pA >= 0 && pA <= 1)) {
      throw new IllegalArgumentException("p(A) must be in [0, 1], got " + pA);
    }
    int[] a = sequence(conversation, responseA, template, tokenizer);
    int[] b = sequence(conversation, responseB, template, tokenizer);
    return a.length > maxLen || b.length > maxLen ? Optional.empty() : Optional.of(new Pair(a, b, (float) pA));
  }

  /** Right-padded micro-batches of at most {@code microBatchSize} pairs. */
  public static List<PairBatch> batches(List<Pair> pairs, int microBatchSize, int padId) {
    List<PairBatch> out = new ArrayList<>();
    for (int start = 0; start < pairs.size(); start += microBatchSize) {
      List<Pair> group = pairs.subList(start, Math.min(pairs.size(), start + microBatchSize));
      List<int[]> rows = new ArrayList<>();
      group.forEach(p -> rows.add(p.a()));
      group.forEach(p -> rows.add(p.b()));
      float[] labels = new float[group.size()];
      for (int i = 0; i < labels.length; i++) {
        labels[i] = group.get(i).pA();
      }
      out.add(new PairBatch(rightPadded(rows, padId), labels));
    }
    return out;
  }

  /** Rows right-padded to the longest, with an attention mask; the loss mask is unused (all zero). */
  public static TokenBatch rightPadded(List<int[]> rows, int padId) {
    int len = Math.max(2, rows.stream().mapToInt(r -> r.length).max().orElse(2));
    int[] ids = new int[rows.size() * len];
    int[] mask = new int[ids.length];
    java.util.Arrays.fill(ids, Math.max(padId, 0));
    for (int r = 0; r < rows.size(); r++) {
      System.arraycopy(rows.get(r), 0, ids, r * len, rows.get(r).length);
      java.util.Arrays.fill(mask, r * len, r * len + rows.get(r).length, 1);
    }
    return new TokenBatch(rows.size(), len, ids, mask, new int[ids.length]);
  }

  /** The preference-model objective for a model with {@code config}: a reward head and the soft Bradley–Terry loss. */
  public static TrainingRun.Objective<Pair, PairBatch> objective(LlamaConfig config) {
    return objective(config, Map.of());
  }

  /**
   * Like {@link #objective(LlamaConfig)}, the reward head starting from {@code rewardHead} (a trained PM's, to go on
   * training it) instead of a fresh seeded one when it is not empty.
   */
  public static TrainingRun.Objective<Pair, PairBatch> objective(LlamaConfig config, Map<String, HostTensor> rewardHead) {
    int padId = Math.max(config.padTokenId(), 0);
    return new TrainingRun.Objective<>() {
      @Override
      public List<ScalarHead> heads(LlamaModel model, TrainRng rng) {
        return List.of(rewardHead.isEmpty()
            ? ScalarHead.create(ScalarHead.REWARD_HEAD, config.hiddenSize(), rng, model.manager())
            : ScalarHead.fromTensors(ScalarHead.REWARD_HEAD, config.hiddenSize(), rewardHead, model.manager()));
      }

      @Override
      public List<PairBatch> microBatches(List<Pair> examples, int microBatchSize) {
        return batches(examples, microBatchSize, padId);
      }

      @Override
      public Trainer.MicroBatchLoss<PairBatch> loss(Trainer trainer, List<ScalarHead> heads) {
        ScalarHead head = heads.get(0);
        return new Trainer.MicroBatchLoss<>() {
          @Override
          public double weight(PairBatch b) {
            return b.pairs();
          }

          @Override
          public NDArray lossSum(NDManager scratch, PairBatch b) {
            NDArray mask = b.rows().attentionMask(scratch);
            NDArray hidden = trainer.model().forwardHidden(b.rows().inputIds(scratch), mask);
            NDArray r = head.atLastToken(hidden, mask);
            int n = b.pairs();
            NDArray rA = r.get(new NDIndex("0:" + n));
            NDArray rB = r.get(new NDIndex(n + ":"));
            // the batch mean times n (an attached array, not a Java number, so backward can read it)
            return PreferenceLoss.softBradleyTerry(rA, rB, scratch.create(b.pA())).mul(scratch.create((float) n));
          }
        };
      }

      @Override
      public String kind() {
        return "pm";
      }
    };
  }
}
