package dev.cai.actors;

import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.tokenizer.ChatTemplate;
import dev.cai.runtime.tokenizer.TextTokenizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A causal LM served for generation by a {@link ModelActor}: requests with equal sampling settings (seeds aside) run
 * as one batched {@link PolicyModel#generate} call, which renders each conversation with the model's chat template
 * and rejects a request whose prompt plus {@code maxNewTokens} does not fit the model's context (alone, not its
 * batch). A reply "ended" when it reached EOS or, for transcript-format models, the next turn.
 */
public final class GenerationModel implements BatchModel<GenerateRequest, Completion> {
  private final PolicyModel policy;

  /** Takes ownership of {@code model} and {@code tokenizer}: {@link #close()} closes both. */
  public GenerationModel(LlamaModel model, TextTokenizer tokenizer, ChatTemplate template, String id) {
    this.policy = new PolicyModel(model, tokenizer, template, id);
  }

  @Override
  public List<Outcome<Completion>> run(List<GenerateRequest> batch) {
    List<Outcome<Completion>> out = new ArrayList<>(Collections.nCopies(batch.size(), (Outcome<Completion>) null));
    // requests that differ only in their seed share one generate call
    Map<GenerationSettings, List<Integer>> groups = BatchModel.groupBy(batch, r -> r.settings().withSeed(0));
    for (Map.Entry<GenerationSettings, List<Integer>> g : groups.entrySet()) {
      List<Transcript> conversations = g.getValue().stream().map(i -> batch.get(i).conversation()).toList();
      long[] seeds = g.getValue().stream().mapToLong(i -> batch.get(i).settings().seed()).toArray();
      List<Outcome<PolicySample>> samples = policy.generate(conversations, seeds, g.getKey());
      for (int k = 0; k < samples.size(); k++) {
        Outcome<PolicySample> o = samples.get(k);
        out.set(g.getValue().get(k), o.isOk() ? Outcome.ok(new Completion(o.value().text(), o.value().promptIds().length,
            o.value().responseIds().length, o.value().endedWithEos())) : Outcome.failed(o.error()));
      }
    }
    return out;
  }

  @Override
  public String id() {
    return policy.id();
  }

  @Override
  public void close() {
    policy.close();
  }
}
