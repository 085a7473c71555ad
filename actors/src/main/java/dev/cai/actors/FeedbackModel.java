package dev.cai.actors;

import dev.cai.runtime.generate.ContinuationScorer;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.tokenizer.TextTokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * The AI-feedback labeler's scoring (Bai et al. 2022, §4.1) served by a {@link ModelActor}: for a whole
 * batch of multiple-choice contexts, one scoring pass reads log p(" (A)") and log p(" (B)"). A context that
 * does not fit the model fails alone.
 */
public final class FeedbackModel implements BatchModel<ScoreOptionsRequest, OptionScores> {
  private final LlamaModel model;
  private final TextTokenizer tokenizer;
  private final String id;
  private final ContinuationScorer scorer;

  /** Takes ownership of {@code model} and {@code tokenizer}. */
  public FeedbackModel(LlamaModel model, TextTokenizer tokenizer, String id) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.id = id;
    this.scorer = new ContinuationScorer(model);
  }

  @Override
  public List<Outcome<OptionScores>> run(List<ScoreOptionsRequest> batch) {
    List<Outcome<OptionScores>> out = new ArrayList<>();
    List<int[]> contexts = new ArrayList<>();
    List<int[]> continuations = new ArrayList<>();
    List<Integer> members = new ArrayList<>();
    for (int i = 0; i < batch.size(); i++) {
      ScoreOptionsRequest r = batch.get(i);
      int[] ctx = tokenizer.encode(r.context());
      int[] a = tokenizer.encode(r.optionA());
      int[] b = tokenizer.encode(r.optionB());
      int longest = ctx.length + Math.max(a.length, b.length);
      if (ctx.length == 0 || a.length == 0 || b.length == 0) {
        out.add(Outcome.failed("empty context or option"));
      } else if (longest > model.maxSequenceLength()) {
        out.add(Outcome.failed("labeling context has " + ctx.length + " tokens, more than the model context of "
            + model.maxSequenceLength()));
      } else {
        out.add(null);
        members.add(i);
        contexts.add(ctx);
        continuations.add(a);
        contexts.add(ctx);
        continuations.add(b);
      }
    }
    if (!members.isEmpty()) {
      double[] lp = scorer.totalLogProbs(contexts, continuations); // rows: (ctx, A), (ctx, B) per request
      for (int k = 0; k < members.size(); k++) {
        out.set(members.get(k), Outcome.ok(new OptionScores(lp[2 * k], lp[2 * k + 1], contexts.get(2 * k).length)));
      }
    }
    return out;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public void close() {
    model.close();
    tokenizer.close();
  }
}
