package dev.cai.runtime.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.cai.runtime.model.LlamaConfig;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.model.TinyModels;
import dev.cai.runtime.weights.ModelWeights;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GeneratorTest {
  private static final List<int[]> PROMPTS = List.of(new int[] {5, 17, 33, 8, 61}, new int[] {9, 4},
      new int[] {12, 12, 40, 3, 27, 30, 31});
  private static final TokenDecoder DECODER =
      ids -> Arrays.stream(ids).mapToObj(i -> "t" + i + " ").collect(Collectors.joining());
  private static LlamaModel model;

  @BeforeAll
  static void load() {
    model = LlamaModel.create(TinyModels.weights(21), Device.cpu());
  }

  @AfterAll
  static void close() {
    model.close();
  }

  @Test
  void shouldRepeatTokensForTheSameSeedAndDifferForAnotherSeed() {
    GenerationSettings s = GenerationSettings.sampling(12, 1.0, 77).withStopAtEos(false);
    Generator g = new Generator(model);
    List<GeneratedSequence> a = g.generate(PROMPTS, s).sequences();
    List<GeneratedSequence> b = g.generate(PROMPTS, s).sequences();
    List<GeneratedSequence> c = g.generate(PROMPTS, s.withSeed(78)).sequences();
    for (int i = 0; i < PROMPTS.size(); i++) {
      assertArrayEquals(a.get(i).tokens(), b.get(i).tokens());
      assertArrayEquals(a.get(i).logProbs(), b.get(i).logProbs());
    }
    assertNotEquals(tokens(a), tokens(c));
  }

  @Test
  void shouldEqualGreedyWithTopKOne() {
    Generator g = new Generator(model);
    List<GeneratedSequence> greedy = g.generate(PROMPTS, GenerationSettings.greedy(10).withStopAtEos(false))
        .sequences();
    List<GeneratedSequence> topK1 = g.generate(PROMPTS,
        GenerationSettings.sampling(10, 1.0, 5).withTopK(1).withStopAtEos(false)).sequences();
    assertEquals(tokens(greedy), tokens(topK1));
    assertEquals(FinishReason.LENGTH, greedy.get(0).finishReason());
    assertEquals(10, greedy.get(0).tokens().length);
  }

  @Test
  void shouldGenerateTheSameGreedyTokensAloneAsInALeftPaddedBatch() {
    Generator g = new Generator(model);
    GenerationSettings s = GenerationSettings.greedy(8).withStopAtEos(false);
    List<GeneratedSequence> batch = g.generate(PROMPTS, s).sequences();
    for (int i = 0; i < PROMPTS.size(); i++) {
      GeneratedSequence alone = g.generate(List.of(PROMPTS.get(i)), s).sequences().get(0);
      assertArrayEquals(alone.tokens(), batch.get(i).tokens(), "prompt " + i);
      assertArrayEquals(alone.logProbs(), batch.get(i).logProbs(), 1e-4f, "prompt " + i);
    }
  }

  @Test
  void shouldGenerateTheSameWithChunkedPrefill() {
    GenerationSettings s = GenerationSettings.sampling(6, 0.9, 11).withStopAtEos(false);
    List<GeneratedSequence> whole = new Generator(model).generate(PROMPTS, s).sequences();
    // Budget of 3 positions × 4 heads × 7 keys × 3 rows: prefill runs in chunks of 3, 3 and 1 positions.
    List<GeneratedSequence> chunked = new Generator(model, 3L * 4 * 7 * 3).generate(PROMPTS, s).sequences();
    for (int i = 0; i < PROMPTS.size(); i++) {
      assertArrayEquals(whole.get(i).tokens(), chunked.get(i).tokens());
      assertArrayEquals(whole.get(i).logProbs(), chunked.get(i).logProbs(), 1e-4f);
    }
  }

  @Test
  void shouldReportLogProbsAtTheSamplingTemperature() {
    Generator g = new Generator(model);
    ContinuationScorer scorer = new ContinuationScorer(model);
    for (double t : new double[] {0.7, 1.3}) {
      List<GeneratedSequence> out = g.generate(PROMPTS, GenerationSettings.sampling(6, t, 3).withStopAtEos(false))
          .sequences();
      List<float[]> scored = scorer.tokenLogProbs(PROMPTS,
          out.stream().map(GeneratedSequence::tokens).toList(), t);
      for (int i = 0; i < PROMPTS.size(); i++) {
        assertArrayEquals(scored.get(i), out.get(i).logProbs(), 1e-4f, "T=" + t + " prompt " + i);
      }
    }
  }

  @Test
  void shouldStopAtEosAndIncludeIt() {
    Generator g = new Generator(model);
    int[] free = g.generate(List.of(PROMPTS.get(0)), GenerationSettings.greedy(8).withStopAtEos(false))
        .sequences().get(0).tokens();
    // Declare the third greedy token to be EOS: generation must stop at its first occurrence.
    int eos = free[2];
    int first = 0;
    while (free[first] != eos) {
      first++;
    }
    ModelWeights w = TinyModels.weights(21);
    LlamaConfig c = w.config();
    LlamaConfig withEos = new LlamaConfig(c.vocabSize(), c.hiddenSize(), c.intermediateSize(), c.numLayers(),
        c.numHeads(), c.numKvHeads(), c.headDim(), c.ropeTheta(), c.rmsNormEps(), c.maxPositionEmbeddings(),
        c.tieWordEmbeddings(), c.bosTokenId(), eos, c.padTokenId());
    try (LlamaModel m2 = LlamaModel.create(new ModelWeights(withEos, w.tensors(), w.source()), Device.cpu())) {
      GeneratedSequence s = new Generator(m2).generate(List.of(PROMPTS.get(0)), GenerationSettings.greedy(8))
          .sequences().get(0);
      assertArrayEquals(Arrays.copyOf(free, first + 1), s.tokens());
      assertTrue(s.endedWithEos());
      assertEquals(FinishReason.EOS, s.finishReason());
    }
  }

  @Test
  void shouldStopAtStopStringAndCutTheText() {
    Generator g = new Generator(model);
    int[] free = g.generate(List.of(PROMPTS.get(1)), GenerationSettings.greedy(8).withStopAtEos(false))
        .sequences().get(0).tokens();
    String stop = "t" + free[3] + " ";
    String fullText = DECODER.decode(free);
    GeneratedSequence s = g.generate(List.of(PROMPTS.get(1)),
        GenerationSettings.greedy(8).withStopAtEos(false).withStopStrings(List.of(stop)), DECODER).sequences().get(0);
    assertEquals(FinishReason.STOP_STRING, s.finishReason());
    assertFalse(s.endedWithEos());
    assertEquals(fullText.substring(0, fullText.indexOf(stop)), s.text());
    assertTrue(s.tokens().length <= 4);
    assertThrows(IllegalArgumentException.class, () -> g.generate(List.of(PROMPTS.get(1)),
        GenerationSettings.greedy(8).withStopStrings(List.of("x"))));
  }

  @Test
  void shouldRejectBadPrompts() {
    Generator g = new Generator(model);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> g.generate(List.of(new int[] {1, 64}), GenerationSettings.greedy(2)));
    assertEquals("Prompt 0 has token id 64 outside [0, 64)", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> g.generate(List.of(new int[0]), GenerationSettings.greedy(2)));
  }

  private static List<String> tokens(List<GeneratedSequence> seqs) {
    return seqs.stream().map(s -> Arrays.toString(s.tokens())).toList();
  }
}
