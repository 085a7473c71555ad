package dev.cai.runtime.model;

/**
 * Shape and constants of a Llama-family decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU),
 * read from GGUF metadata or a Hugging Face {@code config.json}.
 */
public record LlamaConfig(
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int headDim,
    double ropeTheta,
    double rmsNormEps,
    int maxPositionEmbeddings,
    boolean tieWordEmbeddings,
    int bosTokenId,
    int eosTokenId,
    int padTokenId) {

  public LlamaConfig {
    require(vocabSize > 0, "vocabSize must be > 0, got " + vocabSize);
    require(hiddenSize > 0, "hiddenSize must be > 0, got " + hiddenSize);
    require(intermediateSize > 0, "intermediateSize must be > 0, got " + intermediateSize);
    require(numLayers > 0, "numLayers must be > 0, got " + numLayers);
    require(numHeads > 0, "numHeads must be > 0, got " + numHeads);
    require(numKvHeads > 0 && numHeads % numKvHeads == 0,
        "numKvHeads must divide numHeads, got " + numKvHeads + " and " + numHeads);
    require(headDim > 0 && headDim % 2 == 0, "headDim must be even and > 0, got " + headDim);
    require(ropeTheta > 0, "ropeTheta must be > 0, got " + ropeTheta);
    require(rmsNormEps > 0, "rmsNormEps must be > 0, got " + rmsNormEps);
    require(maxPositionEmbeddings > 0, "maxPositionEmbeddings must be > 0, got " + maxPositionEmbeddings);
    requireToken(bosTokenId, vocabSize, "bosTokenId");
    requireToken(eosTokenId, vocabSize, "eosTokenId");
    requireToken(padTokenId, vocabSize, "padTokenId");
  }

  /** Query heads that share one key/value head. */
  public int groupSize() {
    return numHeads / numKvHeads;
  }

  private static void requireToken(int id, int vocabSize, String name) {
    require(id >= -1 && id < vocabSize, name + " must be -1 (none) or in [0, " + vocabSize + "), got " + id);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException("Invalid Llama config: " + message);
    }
  }
}
