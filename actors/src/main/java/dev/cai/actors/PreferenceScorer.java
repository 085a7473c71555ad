package dev.cai.actors;

import dev.cai.runtime.eval.RewardModel;
import dev.cai.runtime.train.PreferenceData;
import java.util.ArrayList;
import java.util.List;

/**
 * The preference model served by a {@link ModelActor} (the preference actor): normalised PM scores of finished
 * responses, one batched pass per batch; a sequence longer than the model's context fails alone.
 */
public final class PreferenceScorer implements BatchModel<ScoreRequest, Double> {
  private final RewardModel pm;
  private final String id;

  /** Takes ownership of {@code pm}. */
  public PreferenceScorer(RewardModel pm, String id) {
    this.pm = pm;
    this.id = id;
  }

  @Override
  public List<Outcome<Double>> run(List<ScoreRequest> batch) {
    return BatchModel.serveAccepted(batch, this::tokenize, sequences -> {
      double[] raw = pm.rawScores(sequences);
      List<Double> scores = new ArrayList<>();
      for (double r : raw) {
        scores.add(pm.normalize(r));
      }
      return scores;
    });
  }

  private Outcome<int[]> tokenize(ScoreRequest r) {
    int[] ids = PreferenceData.sequence(r.conversation().messages(), r.response(), pm.loaded().chatTemplate(),
        pm.loaded().tokenizer());
    return ids.length > pm.maxSequenceLength()
        ? Outcome.failed("sequence has " + ids.length + " tokens, more than the context of " + pm.maxSequenceLength())
        : Outcome.ok(ids);
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public void close() {
    pm.close();
  }
}
