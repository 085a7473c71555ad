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
    List<Outcome<Double>> out = new ArrayList<>();
    List<int[]> sequences = new ArrayList<>();
    List<Integer> members = new ArrayList<>();
    for (int i = 0; i < batch.size(); i++) {
      ScoreRequest r = batch.get(i);
      int[] ids = PreferenceData.sequence(r.conversation().messages(), r.response(), pm.loaded().chatTemplate(),
          pm.loaded().tokenizer());
      if (ids.length > pm.maxSequenceLength()) {
        out.add(Outcome.failed("sequence has " + ids.length + " tokens, more than the context of " + pm.maxSequenceLength()));
      } else {
        out.add(null);
        members.add(i);
        sequences.add(ids);
      }
    }
    double[] raw = pm.rawScores(sequences);
    for (int k = 0; k < members.size(); k++) {
      out.set(members.get(k), Outcome.ok(pm.normalize(raw[k])));
    }
    return out;
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
