package dev.cai.actors;

import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.FinishReason;
import dev.cai.runtime.generate.GeneratedSequence;
import dev.cai.runtime.generate.GenerationResult;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.generate.Generator;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.tokenizer.ChatTemplate;
import dev.cai.runtime.tokenizer.TextTokenizer;
import dev.cai.runtime.weights.ModelWeights;
import java.util.ArrayList;
import java.util.List;

/**
 * The policy's causal LM as a {@link PolicyActor} runs it: renders each conversation with the model's chat template,
 * samples every accepted prompt of a request in one batched generate call (each from its own seed, so a prompt's
 * sample does not depend on its batch), and swaps in new weights between calls. A prompt whose rendered tokens plus
 * {@code maxNewTokens} exceed the model's context fails alone with the reason.
 */
public final class PolicyModel implements AutoCloseable {
  private final LlamaModel model;
  private final TextTokenizer tokenizer;
  private final ChatTemplate template;
  private final String id;
  private final Generator generator;

  /** Takes ownership of {@code model} and {@code tokenizer}: {@link #close()} closes both. */
  public PolicyModel(LlamaModel model, TextTokenizer tokenizer, ChatTemplate template, String id) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.template = template;
    this.id = id;
    this.generator = new Generator(model);
  }

  /**
   * One sample per conversation, sequence i from {@code seeds[i]}, with {@code settings} (its seed is ignored).
   * Transcript-format models have no end-of-turn token: they stop at the next "\n\nHuman:", which then counts as
   * the response's end (like EOS).
   */
  public List<BatchModel.Outcome<PolicySample>> generate(List<Transcript> conversations, long[] seeds,
      GenerationSettings settings) {
    if (seeds.length != conversations.size()) {
      throw new IllegalArgumentException(conversations.size() + " conversations but " + seeds.length + " seeds");
    }
    GenerationSettings s = withEndOfTurn(template, settings);
    List<Integer> requests = java.util.stream.IntStream.range(0, seeds.length).boxed().toList();
    return BatchModel.serveAccepted(requests, i -> {
      BatchModel.Outcome<int[]> ids = tokenize(conversations.get(i), s);
      return ids.isOk() ? BatchModel.Outcome.ok(new Prompt(ids.value(), seeds[i])) : BatchModel.Outcome.failed(ids.error());
    }, prompts -> sample(prompts, s));
  }

  /** A prompt's token ids and its seed. */
  private record Prompt(int[] ids, long seed) {}

  private List<PolicySample> sample(List<Prompt> prompts, GenerationSettings s) {
    GenerationResult result = generator.generate(prompts.stream().map(Prompt::ids).toList(),
        prompts.stream().mapToLong(Prompt::seed).toArray(), s, ids -> tokenizer.decode(ids, false));
    List<PolicySample> out = new ArrayList<>();
    for (int k = 0; k < prompts.size(); k++) {
      GeneratedSequence seq = result.sequences().get(k);
      String text = tokenizer.decode(seq.tokens(), true);
      if (seq.text() != null && seq.text().length() < text.length()) {
        text = seq.text(); // cut before a stop string
      }
      out.add(new PolicySample(prompts.get(k).ids(), seq.tokens(), seq.logProbs(),
          seq.finishReason() != FinishReason.LENGTH, text.strip()));
    }
    return out;
  }

  private BatchModel.Outcome<int[]> tokenize(Transcript conversation, GenerationSettings settings) {
    int[] ids = tokenizer.encode(template.render(conversation.messages(), true));
    if (ids.length == 0) {
      return BatchModel.Outcome.failed("the prompt is empty");
    }
    if (ids.length + settings.maxNewTokens() > model.maxSequenceLength()) {
      return BatchModel.Outcome.failed("prompt has " + ids.length + " tokens; with max-new-tokens "
          + settings.maxNewTokens() + " that exceeds the model context of " + model.maxSequenceLength());
    }
    return BatchModel.Outcome.ok(ids);
  }

  /**
   * {@code s} for replies in {@code template}'s format: transcript-format models have no end-of-turn token, so they
   * also stop at the next "\n\nHuman:".
   */
  public static GenerationSettings withEndOfTurn(ChatTemplate template, GenerationSettings s) {
    if (template.format() == ChatTemplate.Format.TRANSCRIPT && !s.stopStrings().contains(template.endOfTurn())) {
      List<String> stops = new ArrayList<>(s.stopStrings());
      stops.add(template.endOfTurn());
      return s.withStopStrings(stops);
    }
    return s;
  }

  /** Copies {@code weights} into the model's parameters (same config required). */
  public void loadWeights(ModelWeights weights) {
    model.loadWeights(weights);
  }

  /** Longest sequence the model accepts. */
  public int maxSequenceLength() {
    return model.maxSequenceLength();
  }

  /** Identifies the loaded model in records and error messages. */
  public String id() {
    return id;
  }

  @Override
  public void close() {
    // the generator holds no native memory; the model's NDManager owns the weights
    model.close();
    tokenizer.close();
  }
}
