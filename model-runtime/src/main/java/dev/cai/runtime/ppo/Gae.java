package dev.cai.runtime.ppo;

/**
 * Generalized advantage estimation (Schulman et al. 2016, arXiv:1506.02438) over one response, with
 * the value after the last token taken as 0 (the episode ends with the response).
 */
public final class Gae {
  private Gae() {}

  /** Advantages A_t and returns R_t = A_t + V_t of one response. */
  public record Result(float[] advantages, float[] returns) {}

  public static Result compute(float[] rewards, float[] values, double gamma, double lambda) {
    Rewards.requireSameLength(rewards, values, "values");
    int n = rewards.length;
    float[] adv = new float[n];
    float[] ret = new float[n];
    double next = 0.0; // A_{t+1}
    for (int t = n - 1; t >= 0; t--) {
      double nextValue = t + 1 < n ? values[t + 1] : 0.0;
      double delta = rewards[t] + gamma * nextValue - values[t]; // δ_t = r_t + γ·V_{t+1} − V_t
      next = delta + gamma * lambda * next;                      // A_t = δ_t + γλ·A_{t+1}
      adv[t] = (float) next;
      ret[t] = (float) (next + values[t]);                       // R_t = A_t + V_t
    }
    return new Result(adv, ret);
  }
}
