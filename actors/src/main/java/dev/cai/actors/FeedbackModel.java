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
    return BatchModel.serveAccepted(batch, this::tokenize, this::score);
  }

  /** Context and both options as token ids, or why they cannot be scored. */
  private Outcome<int[][]> tokenize(ScoreOptionsRequest r) {
    int[] ctx = tokenizer.encode(r.context());
    int[] a = tokenizer.encode(r.optionA());
    int[] b = tokenizer.encode(r.optionB());
    if (ctx.length == 0 || a.length == 0 || b.length == 0) {
      return Outcome.failed("empty context or option");
    }
    if (ctx.length + Math.max(a.length, b.length) > model.maxSequenceLength()) {
      return Outcome.failed("labeling context has " + ctx.length + " tokens, more than the model context of "
          + model.maxSequenceLength());
    }
    return Outcome.ok(new int[][] {ctx, a, b});
  }

  /** One scoring pass over rows (ctx, A), (ctx, B) of every request. */
  private List<OptionScores> score(List<int[][]> requests) {
    List<int[]> contexts = new ArrayList<>();
    List<int[]> continuations = new ArrayList<>();
    for (int[][] r : requests) {
      contexts.add(r[0]);
      continuations.add(r[1]);
      contexts.add(r[0]);
      continuations.add(r[2]);
    }
    double[] lp = scorer.totalLogProbs(contexts, continuations);
    List<OptionScores> out = new ArrayList<>();
    for (int k = 0; k < requests.size(); k++) {
      out.add(new OptionScores(lp[2 * k], lp[2 * k + 1], requests.get(k)[0].length));
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
