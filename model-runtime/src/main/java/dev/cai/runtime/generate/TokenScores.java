package dev.cai.runtime.generate;

/**
 * Scores of one continuation from {@link ContinuationScorer#tokenScores}: per token, its log-probability and the
 * {@code topK} likeliest tokens at that position with theirs (likeliest first; empty rows when none were asked).
 */
public record TokenScores(float[] logProbs, int[][] topIds, float[][] topLogProbs) {
  public TokenScores {
    if (topIds.length != logProbs.length || topLogProbs.length != logProbs.length) {
      throw new IllegalArgumentException(logProbs.length + " log-probs but " + topIds.length + " and "
          + topLogProbs.length + " top-k rows");
    }
  }
}
