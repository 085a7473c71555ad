package dev.cai.actors;

import dev.cai.runtime.generate.GeneratedSequence;
import dev.cai.runtime.generate.GenerationResult;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.generate.Generator;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.tokenizer.ChatTemplate;
import dev.cai.runtime.tokenizer.TextTokenizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A causal LM served for generation by a {@link ModelActor}: renders each conversation with the model's
 * chat template, runs requests with equal sampling settings as one batched generate call, and rejects a
 * request whose prompt plus {@code maxNewTokens} does not fit the model's context (alone, not its batch).
 */
public final class GenerationModel implements BatchModel<GenerateRequest, Completion> {
  private final LlamaModel model;
  private final TextTokenizer tokenizer;
  private final ChatTemplate template;
  private final String id;
  private final Generator generator;

  /** Takes ownership of {@code model} and {@code tokenizer}: {@link #close()} closes both. */
  public GenerationModel(LlamaModel model, TextTokenizer tokenizer, ChatTemplate template, String id) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.template = template;
    this.id = id;
    this.generator = new Generator(model);
  }

  @Override
  public List<Outcome<Completion>> run(List<GenerateRequest> batch) {
    List<Outcome<Completion>> out = new ArrayList<>(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      out.add(null);
    }
    // requests that differ only in their seed share one generate call
    Map<GenerationSettings, List<Integer>> groups = new LinkedHashMap<>();
    for (int i = 0; i < batch.size(); i++) {
      groups.computeIfAbsent(batch.get(i).settings().withSeed(0), k -> new ArrayList<>()).add(i);
    }
    for (Map.Entry<GenerationSettings, List<Integer>> g : groups.entrySet()) {
      GenerationSettings settings = withEndOfTurn(g.getKey());
      List<Integer> members = new ArrayList<>();
      List<int[]> prompts = new ArrayList<>();
      for (int i : g.getValue()) {
        int[] ids = tokenizer.encode(template.render(batch.get(i).conversation().messages(), true));
        int needed = ids.length + settings.maxNewTokens();
        if (ids.length == 0) {
          out.set(i, Outcome.failed("the prompt is empty"));
        } else if (needed > model.maxSequenceLength()) {
          out.set(i, Outcome.failed("prompt has " + ids.length + " tokens; with max-new-tokens "
              + settings.maxNewTokens() + " that exceeds the model context of " + model.maxSequenceLength()));
        } else {
          members.add(i);
          prompts.add(ids);
        }
      }
      if (prompts.isEmpty()) {
        continue;
      }
      long[] seeds = members.stream().mapToLong(i -> batch.get(i).settings().seed()).toArray();
      GenerationResult result = generator.generate(prompts, seeds, settings, ids -> tokenizer.decode(ids, false));
      for (int k = 0; k < members.size(); k++) {
        GeneratedSequence s = result.sequences().get(k);
        String text = tokenizer.decode(s.tokens(), true);
        if (s.text() != null && s.text().length() < text.length()) {
          text = s.text(); // cut before a stop string
        }
        out.set(members.get(k), Outcome.ok(new Completion(text.strip(), prompts.get(k).length, s.tokens().length,
            s.endedWithEos())));
      }
    }
    return out;
  }

  /** Transcript-format models have no end-of-turn token: stop at the next "\n\nHuman:". */
  private GenerationSettings withEndOfTurn(GenerationSettings s) {
    if (template.format() == ChatTemplate.Format.TRANSCRIPT && !s.stopStrings().contains(template.endOfTurn())) {
      List<String> stops = new ArrayList<>(s.stopStrings());
      stops.add(template.endOfTurn());
      return s.withStopStrings(stops);
    }
    return s;
  }

  @Override
  public String id() {
    return id;
  }

  /** The served model (for weight updates and scoring on the same dispatcher thread). */
  public LlamaModel model() {
    return model;
  }

  @Override
  public void close() {
    // the generator holds no native memory; the model's NDManager owns the weights
    model.close();
    tokenizer.close();
  }
}
