package dev.cai.actors;

import dev.cai.runtime.generate.GeneratedSequence;
import dev.cai.runtime.generate.GenerationResult;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.generate.Generator;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.tokenizer.ChatTemplate;
import dev.cai.runtime.tokenizer.TextTokenizer;
import java.util.ArrayList;
import java.util.Collections;
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
    List<Outcome<Completion>> out = new ArrayList<>(Collections.nCopies(batch.size(), (Outcome<Completion>) null));
    // requests that differ only in their seed share one generate call
    Map<GenerationSettings, List<Integer>> groups = new LinkedHashMap<>();
    for (int i = 0; i < batch.size(); i++) {
      groups.computeIfAbsent(batch.get(i).settings().withSeed(0), k -> new ArrayList<>()).add(i);
    }
    for (Map.Entry<GenerationSettings, List<Integer>> g : groups.entrySet()) {
      GenerationSettings settings = withEndOfTurn(g.getKey());
      List<GenerateRequest> members = g.getValue().stream().map(batch::get).toList();
      List<Outcome<Completion>> results = BatchModel.serveAccepted(members, r -> tokenize(r, settings),
          prompts -> generate(prompts, settings));
      for (int k = 0; k < members.size(); k++) {
        out.set(g.getValue().get(k), results.get(k));
      }
    }
    return out;
  }

  /** A prompt's token ids and its request seed. */
  private record Prompt(int[] ids, long seed) {}

  private Outcome<Prompt> tokenize(GenerateRequest r, GenerationSettings settings) {
    int[] ids = tokenizer.encode(template.render(r.conversation().messages(), true));
    if (ids.length == 0) {
      return Outcome.failed("the prompt is empty");
    }
    if (ids.length + settings.maxNewTokens() > model.maxSequenceLength()) {
      return Outcome.failed("prompt has " + ids.length + " tokens; with max-new-tokens " + settings.maxNewTokens()
          + " that exceeds the model context of " + model.maxSequenceLength());
    }
    return Outcome.ok(new Prompt(ids, r.settings().seed()));
  }

  private List<Completion> generate(List<Prompt> prompts, GenerationSettings settings) {
    long[] seeds = prompts.stream().mapToLong(Prompt::seed).toArray();
    GenerationResult result = generator.generate(prompts.stream().map(Prompt::ids).toList(), seeds, settings,
        ids -> tokenizer.decode(ids, false));
    List<Completion> out = new ArrayList<>();
    for (int k = 0; k < prompts.size(); k++) {
      GeneratedSequence s = result.sequences().get(k);
      String text = tokenizer.decode(s.tokens(), true);
      if (s.text() != null && s.text().length() < text.length()) {
        text = s.text(); // cut before a stop string
      }
      out.add(new Completion(text.strip(), prompts.get(k).ids().length, s.tokens().length, s.endedWithEos()));
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

  @Override
  public void close() {
    // the generator holds no native memory; the model's NDManager owns the weights
    model.close();
    tokenizer.close();
  }
}
