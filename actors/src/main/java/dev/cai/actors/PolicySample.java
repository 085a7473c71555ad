package dev.cai.actors;

/**
 * One response sampled by the policy for PPO: the chat-rendered prompt's token ids, the response token ids (ending
 * with EOS when {@code endedWithEos}), each response token's log-probability log_softmax(logits / T) at the sampling
 * temperature, and the decoded reply text (special tokens removed, cut before a stop string) that the preference
 * model scores.
 */
public record PolicySample(int[] promptIds, int[] responseIds, float[] logProbs, boolean endedWithEos, String text) {
  public PolicySample {
    if (responseIds.length != logProbs.length) {
      throw new IllegalArgumentException(responseIds.length + " response tokens but " + logProbs.length + " log-probs");
    }
  }
}
