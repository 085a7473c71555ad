package dev.cai.runtime.ppo;

/**
 * One finished rollout as the learner sees it: the query and response token ids, the log-probs the sampling
 * policy gave each response token (at the sampling temperature), the frozen reference model's log-probs of the
 * same tokens, the preference-model score of the whole response (normalised), whether the response ended with
 * EOS, and the policy version that sampled it.
 */
public record RolloutSample(String promptId, int[] promptIds, int[] responseIds, float[] sampledLogprobs,
    float[] refLogprobs, double score, boolean endedWithEos, long policyVersion) {
  public RolloutSample {
    if (promptIds.length == 0) {
      throw new IllegalArgumentException("Rollout " + promptId + " has an empty prompt");
    }
    if (responseIds.length == 0) {
      throw new IllegalArgumentException("Rollout " + promptId + " has an empty response");
    }
    if (sampledLogprobs.length != responseIds.length || refLogprobs.length != responseIds.length) {
      throw new IllegalArgumentException("Rollout " + promptId + " has " + responseIds.length + " response tokens but "
          + sampledLogprobs.length + " sampled and " + refLogprobs.length + " reference log-probs");
    }
    if (!Double.isFinite(score)) {
      throw new IllegalArgumentException("Rollout " + promptId + " has score " + score);
    }
    if (policyVersion < 0) {
      throw new IllegalArgumentException("Rollout " + promptId + " has policy version " + policyVersion);
    }
  }

  /** Query plus response, the sequence the learner's forward passes read. */
  public int[] sequence() {
    int[] s = new int[promptIds.length + responseIds.length];
    System.arraycopy(promptIds, 0, s, 0, promptIds.length);
    System.arraycopy(responseIds, 0, s, promptIds.length, responseIds.length);
    return s;
  }
}
