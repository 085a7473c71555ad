package dev.cai.runtime.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.cai.runtime.model.KvCache;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.model.LlamaModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Batched autoregressive generation with a KV cache: prompts are left-padded with a distinct pad id,
 * position ids are cumsum(mask) - 1, each step runs only the new token, tokens are chosen on the host
 * by {@link TokenSampler} from log_softmax(logits / T).
 */
public final class Generator {
  private final LlamaModel model;
  private final LlamaConfig config;
  private final long attentionBudget;

  public Generator(LlamaModel model) {
    this(model, LlamaModel.ATTENTION_SCORE_BUDGET);
  }

  /** A generator whose prefill keeps attention scores within {@code attentionBudget} floats per forward. */
  public Generator(LlamaModel model, long attentionBudget) {
    this.model = model;
    this.config = model.config();
    this.attentionBudget = attentionBudget;
  }

  /** Generates without stop-string support and without text. */
  public GenerationResult generate(List<int[]> prompts, GenerationSettings settings) {
    return generate(prompts, settings, null);
  }

  /**
   * Generates a continuation of every prompt (non-empty token ids, no padding); {@code decoder} (nullable)
   * decodes text for stop strings and for {@link GeneratedSequence#text()}.
   */
  public GenerationResult generate(List<int[]> prompts, GenerationSettings settings, TokenDecoder decoder) {
    long[] seeds = new long[prompts.size()];
    for (int i = 0; i < seeds.length; i++) {
      seeds[i] = mixSeed(settings.seed(), i);
    }
    return generate(prompts, seeds, settings, decoder);
  }

  /**
   * Like {@link #generate(List, GenerationSettings, TokenDecoder)} with sequence i sampled from its own
   * {@code seeds[i]} (settings.seed() is ignored): a request's sample then does not depend on which other
   * requests share its batch, or where it sits in it.
   */
  public GenerationResult generate(List<int[]> prompts, long[] seeds, GenerationSettings settings, TokenDecoder decoder) {
    if (seeds.length != prompts.size()) {
      throw new IllegalArgumentException(prompts.size() + " prompts but " + seeds.length + " seeds");
    }
    if (prompts.isEmpty()) {
      return new GenerationResult(List.of(), 0, 0, 0, 0);
    }
    if (!settings.stopStrings().isEmpty() && decoder == null) {
      throw new IllegalArgumentException("Stop strings " + settings.stopStrings() + " need a token decoder");
    }
    int b = prompts.size();
    int promptLen = 0;
    int promptTokens = 0;
    for (int i = 0; i < b; i++) {
      int[] p = prompts.get(i);
      if (p.length == 0) {
        throw new IllegalArgumentException("Prompt " + i + " is empty");
      }
      for (int id : p) {
        if (id < 0 || id >= config.vocabSize()) {
          throw new IllegalArgumentException("Prompt " + i + " has token id " + id + " outside [0, "
              + config.vocabSize() + ")");
        }
      }
      promptLen = Math.max(promptLen, p.length);
      promptTokens += p.length;
    }
    int capacity = promptLen + settings.maxNewTokens();
    int pad = padId(config);
    double temperature = TokenSampler.logProbTemperature(settings.temperature());
    int vocab = config.vocabSize();

    // Host state: which cache positions hold real tokens, next position id, per-sequence outputs.
    float[] keyBias = new float[b * capacity];
    long[] ids = new long[b * promptLen];
    long[] mask = new long[b * promptLen];
    long[] nextPos = new long[b];
    for (int i = 0; i < b; i++) {
      int[] p = prompts.get(i);
      int offset = promptLen - p.length;
      Arrays.fill(ids, i * promptLen, i * promptLen + offset, pad);
      Arrays.fill(keyBias, i * capacity, i * capacity + offset, LlamaModel.MASKED);
      for (int j = 0; j < p.length; j++) {
        ids[i * promptLen + offset + j] = p[j];
        mask[i * promptLen + offset + j] = 1;
      }
      nextPos[i] = p.length;
    }
    Sequence[] seqs = new Sequence[b];
    for (int i = 0; i < b; i++) {
      seqs[i] = new Sequence(settings.maxNewTokens(), new SplittableRandom(seeds[i]));
    }

    long prefillNanos;
    long decodeStart;
    int steps = 0;
    // Cache arrays live for the whole call; each step's temporaries live in a step manager closed after it.
    try (KvCache cache = model.newCache(b, capacity)) {
      long t0 = System.nanoTime();
      float[] logp = null;
      // Prefill in chunks of positions so the attention scores stay within the model's budget.
      int chunk = model.chunkWithinBudget((long) b * promptLen, attentionBudget);
      try (NDManager prefill = model.manager().newSubManager()) {
        NDArray idArr = prefill.create(ids, new Shape(b, promptLen));
        NDArray maskArr = prefill.create(mask, new Shape(b, promptLen));
        NDArray positions = LlamaModel.positionIds(maskArr);
        for (int c0 = 0; c0 < promptLen; c0 += chunk) {
          int c1 = Math.min(promptLen, c0 + chunk);
          try (NDManager step = prefill.newSubManager()) {
            NDIndex cols = new NDIndex(":, {}:{}", c0, c1);
            NDArray bias = LlamaModel.attentionBias(maskArr.get(step, new NDIndex(":, 0:{}", c1)), c1 - c0);
            NDArray chunkIds = idArr.get(step, cols);
            NDArray chunkPos = positions.get(step, cols);
            if (c1 < promptLen) {
              model.forwardCached(chunkIds, chunkPos, bias, cache);
            } else {
              logp = logProbs(model.decodeStep(chunkIds, chunkPos, bias, cache), temperature);
            }
          }
        }
      }
      prefillNanos = System.nanoTime() - t0;
      decodeStart = System.nanoTime();
      while (true) {
        long[] next = new long[b];
        final float[] rows = logp;
        // Rows are independent (own RNG each), so choosing them in parallel changes no result.
        IntStream.range(0, b).parallel().filter(i -> seqs[i].finish == null).forEach(i -> {
          int off = i * vocab;
          next[i] = settings.temperature() == 0
              ? TokenSampler.argMax(rows, off, vocab)
              : TokenSampler.sample(rows, off, vocab, settings.topK(), settings.topP(), seqs[i].rng);
        });
        boolean anyActive = false;
        for (int i = 0; i < b; i++) {
          Sequence s = seqs[i];
          if (s.finish != null) {
            next[i] = pad;
            continue;
          }
          int token = (int) next[i];
          s.add(token, logp[i * vocab + token]);
          s.finish = finishReason(s, settings, decoder);
          anyActive |= s.finish == null;
        }
        if (!anyActive) {
          break;
        }
        int len = cache.length();
        float[] bias = new float[b * (len + 1)];
        for (int i = 0; i < b; i++) {
          System.arraycopy(keyBias, i * capacity, bias, i * (len + 1), len + 1);
        }
        try (NDManager step = model.manager().newSubManager()) {
          NDArray idArr = step.create(next, new Shape(b, 1));
          NDArray posArr = step.create(nextPos.clone(), new Shape(b, 1));
          NDArray logits = model.decodeStep(idArr, posArr, step.create(bias, new Shape(b, 1, 1, 1, len + 1)), cache);
          logp = logProbs(logits, temperature);
        }
        for (int i = 0; i < b; i++) {
          nextPos[i]++;
        }
        steps++;
      }
    }
    long decodeNanos = System.nanoTime() - decodeStart;
    List<GeneratedSequence> out = new ArrayList<>(b);
    for (Sequence s : seqs) {
      out.add(s.result(decoder, settings));
    }
    return new GenerationResult(List.copyOf(out), prefillNanos, decodeNanos, steps, promptTokens);
  }

  /** The pad id fed for padding: the config's pad token, else 0 (padding is masked out either way). */
  static int padId(LlamaConfig config) {
    return config.padTokenId() >= 0 ? config.padTokenId() : 0;
  }

  /** Seed of sequence {@code index}: distinct streams for identical prompts within one call. */
  static long mixSeed(long seed, int index) {
    return new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (index + 1))).nextLong();
  }

  private static float[] logProbs(NDArray logits, double temperature) {
    NDArray scaled = temperature == 1.0 ? logits : logits.div((float) temperature);
    return scaled.logSoftmax(-1).toFloatArray();
  }

  private static FinishReason finishReason(Sequence s, GenerationSettings settings, TokenDecoder decoder) {
    if (settings.stopAtEos() && s.last() == s.eosId) {
      return FinishReason.EOS;
    }
    if (!settings.stopStrings().isEmpty() && stopIndex(decoder.decode(s.tokens()), settings) >= 0) {
      return FinishReason.STOP_STRING;
    }
    return s.size == settings.maxNewTokens() ? FinishReason.LENGTH : null;
  }

  /** Start of the earliest stop string in {@code text}, or -1. */
  static int stopIndex(String text, GenerationSettings settings) {
    int best = -1;
    for (String stop : settings.stopStrings()) {
      int at = text.indexOf(stop);
      if (at >= 0 && (best < 0 || at < best)) {
        best = at;
      }
    }
    return best;
  }

  /** Mutable per-sequence state of one call. */
  private final class Sequence {
    final int[] tokens;
    final float[] logProbs;
    final SplittableRandom rng;
    final int eosId = config.eosTokenId();
    int size;
    FinishReason finish;

    Sequence(int max, SplittableRandom rng) {
      tokens = new int[max];
      logProbs = new float[max];
      this.rng = rng;
    }

    void add(int token, float logProb) {
      tokens[size] = token;
      logProbs[size++] = logProb;
    }

    int last() {
      return tokens[size - 1];
    }

    int[] tokens() {
      return Arrays.copyOf(tokens, size);
    }

    GeneratedSequence result(TokenDecoder decoder, GenerationSettings settings) {
      String text = null;
      if (decoder != null) {
        text = decoder.decode(tokens());
        int cut = stopIndex(text, settings);
        if (cut >= 0) {
          text = text.substring(0, cut);
        }
      }
      return new GeneratedSequence(tokens(), Arrays.copyOf(logProbs, size), finish == FinishReason.EOS, finish, text);
    }
  }
}
