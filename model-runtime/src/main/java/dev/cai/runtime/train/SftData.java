package dev.cai.runtime.train;

import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.tokenizer.ChatTemplate;
import dev.cai.runtime.tokenizer.TextTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Supervised fine-tuning data: a conversation and the assistant reply to learn become token ids with a
 * loss mask over the reply and its end-of-turn marker only (prompt tokens are masked), encoded the way
 * generation sees them (prompt with the chat template's generation prompt, then the reply).
 */
public final class SftData {
  private SftData() {}

  /** One tokenized example: ids and a loss mask of the same length. */
  public record Example(int[] ids, int[] lossMask) {}

  /** The example, or empty when it is longer than {@code maxLen} tokens (the caller counts those). */
  public static Optional<Example> encode(List<ChatMessage> conversation, String reply, ChatTemplate template,
      TextTokenizer tokenizer, int maxLen) {
    int[] prompt = tokenizer.encode(template.render(conversation, true));
    int[] answer = tokenizer.encode(reply.strip() + template.endOfTurn());
    if (prompt.length + answer.length > maxLen || answer.length == 0) {
      return Optional.empty();
    }
    int[] ids = new int[prompt.length + answer.length];
    int[] mask = new int[ids.length];
    System.arraycopy(prompt, 0, ids, 0, prompt.length);
    System.arraycopy(answer, 0, ids, prompt.length, answer.length);
    Arrays.fill(mask, prompt.length, ids.length, 1);
    return Optional.of(new Example(ids, mask));
  }

  /** Right-padded micro-batches of at most {@code microBatchSize} examples, in the given order. */
  public static List<TokenBatch> batches(List<Example> examples, int microBatchSize, int padId) {
    List<TokenBatch> out = new ArrayList<>();
    for (int start = 0; start < examples.size(); start += microBatchSize) {
      List<Example> group = examples.subList(start, Math.min(examples.size(), start + microBatchSize));
      int len = Math.max(2, group.stream().mapToInt(e -> e.ids().length).max().orElse(2));
      int[] ids = new int[group.size() * len];
      int[] attention = new int[ids.length];
      int[] loss = new int[ids.length];
      Arrays.fill(ids, Math.max(padId, 0));
      for (int r = 0; r < group.size(); r++) {
        Example e = group.get(r);
        System.arraycopy(e.ids(), 0, ids, r * len, e.ids().length);
        Arrays.fill(attention, r * len, r * len + e.ids().length, 1);
        System.arraycopy(e.lossMask(), 0, loss, r * len, e.lossMask().length);
      }
      out.add(new TokenBatch(group.size(), len, ids, attention, loss));
    }
    return out;
  }

  /** The SFT objective for a model with {@code config}: causal-LM loss on reply tokens, no heads. */
  public static TrainingRun.Objective<Example, TokenBatch> objective(LlamaConfig config) {
    int padId = Math.max(config.padTokenId(), 0);
    return new TrainingRun.Objective<>() {
      @Override
      public List<ScalarHead> heads(LlamaModel model, TrainRng rng) {
        return List.of();
      }

      @Override
      public List<TokenBatch> microBatches(List<Example> examples, int microBatchSize) {
        return batches(examples, microBatchSize, padId);
      }

      @Override
      public Trainer.MicroBatchLoss<TokenBatch> loss(Trainer trainer, List<ScalarHead> heads) {
        return trainer.causalLmLoss();
      }

      @Override
      public String kind() {
        return "sft";
      }
    };
  }
}
