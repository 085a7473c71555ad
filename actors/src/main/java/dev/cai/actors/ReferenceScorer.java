package dev.cai.actors;

import dev.cai.runtime.generate.ContinuationScorer;
import dev.cai.runtime.model.LlamaModel;
import java.util.List;

/**
 * The frozen reference policy (the SL-CAI model) served by a {@link ModelActor} (the reference actor): per-token
 * log_softmax(logits / T) of sampled responses at the sampling temperature T, for PPO's KL penalty, one scoring pass
 * per batch. A sequence longer than the model's context fails alone.
 */
public final class ReferenceScorer implements BatchModel<LogProbsRequest, float[]> {
  private final LlamaModel model;
  private final ContinuationScorer scorer;
  private final double temperature;
  private final String id;

  /** Takes ownership of {@code model}; {@code temperature} is the policy's sampling temperature. */
  public ReferenceScorer(LlamaModel model, double temperature, String id) {
    if (!(temperature > 0) || Double.isInfinite(temperature)) {
      throw new IllegalArgumentException("reference temperature must be finite and > 0, got " + temperature);
    }
    this.model = model;
    this.scorer = new ContinuationScorer(model);
    this.temperature = temperature;
    this.id = id;
  }

  @Override
  public List<Outcome<float[]>> run(List<LogProbsRequest> batch) {
    return BatchModel.serveAccepted(batch, this::check, accepted -> scorer.tokenLogProbs(
        accepted.stream().map(LogProbsRequest::context).toList(),
        accepted.stream().map(LogProbsRequest::continuation).toList(), temperature));
  }

  private Outcome<LogProbsRequest> check(LogProbsRequest r) {
    if (r.context().length == 0) {
      return Outcome.failed("the context is empty");
    }
    int length = r.context().length + r.continuation().length;
    return length > model.maxSequenceLength()
        ? Outcome.failed("sequence has " + length + " tokens, more than the context of " + model.maxSequenceLength())
        : Outcome.ok(r);
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public void close() {
    model.close();
  }
}
