package dev.cai.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.actors.CompletionReply.Completed;
import dev.cai.actors.CompletionReply.TokenLogProbs;
import dev.cai.runtime.generate.ContinuationScorer;
import dev.cai.runtime.generate.FinishReason;
import dev.cai.runtime.generate.GeneratedSequence;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.generate.Generator;
import dev.cai.runtime.gguf.GgmlType;
import dev.cai.runtime.gguf.TinyLlama;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.weights.LoadedModel;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** OpenAI-style completions on a tiny random model, against the runtime's own generation and scoring. */
class CompletionModelTest {
  @TempDir static Path dir;
  private static Path modelFile;
  private static CompletionModel served;
  private static LoadedModel reference;
  private static LlamaModel referenceModel;

  @BeforeAll
  static void load() throws Exception {
    modelFile = dir.resolve("tiny.gguf");
    TinyLlama.write(modelFile, 11, GgmlType.F32);
    served = ModelLoading.completion(modelFile, DeviceSetting.CPU);
    reference = ModelFiles.load(modelFile);
    referenceModel = LlamaModel.create(reference.weights(), DeviceSetting.CPU);
  }

  @AfterAll
  static void close() {
    served.close();
    referenceModel.close();
    reference.close();
  }

  private static CompletionRequest text(String prompt, int maxTokens, int logprobs, boolean echo) {
    return new CompletionRequest(new CompletionRequest.Text(prompt), maxTokens, 0, 1, 0, 0, List.of(), logprobs, echo);
  }

  private static Completed run(CompletionRequest... requests) {
    return (Completed) served.run(List.of(requests)).get(0).value();
  }

  @Test
  void shouldGenerateGreedilyTokenForTokenLikeTheRuntimeAndScoreTheNewTokens() {
    String prompt = "the cat and the dog";
    int[] ids = reference.tokenizer().encode(prompt);
    GeneratedSequence want = new Generator(referenceModel).generate(List.of(ids), GenerationSettings.greedy(12),
        t -> reference.tokenizer().decode(t, true)).sequences().get(0);
    // batched with another request of other settings, which runs in its own generate call
    List<BatchModel.Outcome<CompletionReply>> out = served.run(List.of(text(prompt, 12, 2, false),
        new CompletionRequest(new CompletionRequest.Text("hello"), 5, 0.7, 1, 0, 3, List.of(), -1, false)));
    Completed c = (Completed) out.get(0).value();
    assertEquals(want.text(), c.text());
    assertEquals(ids.length, c.promptTokens());
    assertEquals(want.tokens().length, c.completionTokens());
    assertEquals(want.finishReason(), c.finishReason());
    TokenLogProbs lp = c.logprobs().orElseThrow();
    assertEquals(want.tokens().length, lp.tokens().size());
    assertEquals(c.text(), String.join("", lp.tokens()));
    for (int j = 0; j < want.tokens().length; j++) {
      // greedy: the chosen token is the likeliest, and its log-prob is the generator's (temperature 1)
      assertEquals(want.tokens()[j], lp.top().get(j).get(0).id());
      assertEquals(want.logProbs()[j], lp.tokenLogProbs().get(j), 1e-4f);
      assertEquals(2, lp.top().get(j).size());
    }
    assertEquals(0, lp.textOffsets().get(0));
    int sampled = ((Completed) out.get(1).value()).completionTokens();
    assertTrue(sampled >= 1 && sampled <= 5, "sampled " + sampled + " tokens");
  }

  @Test
  void shouldEchoThePromptWithItsLogProbsWhenNoTokensAreGenerated() {
    String prompt = "<|im_start|>user\nis naïve the word?<|im_end|>\n The answer is: (A)";
    int[] ids = reference.tokenizer().encode(prompt);
    Completed c = run(text(prompt, 0, 1, true));
    assertEquals(prompt, c.text());
    assertEquals(FinishReason.LENGTH, c.finishReason());
    assertEquals(0, c.completionTokens());
    float[] want = new ContinuationScorer(referenceModel).tokenLogProbs(List.of(new int[] {ids[0]}),
        List.of(java.util.Arrays.copyOfRange(ids, 1, ids.length)), 1.0).get(0);
    TokenLogProbs lp = c.logprobs().orElseThrow();
    assertEquals(ids.length, lp.tokens().size());
    assertNull(lp.tokenLogProbs().get(0));
    assertNull(lp.top().get(0));
    for (int j = 1; j < ids.length; j++) {
      assertEquals(want[j - 1], lp.tokenLogProbs().get(j), 1e-5f, "prompt token " + j);
    }
    assertEquals(prompt, String.join("", lp.tokens()));
    int offset = 0;
    for (int j = 0; j < ids.length; j++) {
      assertEquals(offset, lp.textOffsets().get(j));
      offset += lp.tokens().get(j).codePointCount(0, lp.tokens().get(j).length());
    }
    assertEquals(prompt.codePointCount(0, prompt.length()), offset);
    assertTrue(run(text(prompt, 0, -1, true)).logprobs().isEmpty());
    assertEquals("", run(text(prompt, 0, -1, false)).text());
  }

  @Test
  void shouldRenderChatsWithTheTemplateAndRejectWhatDoesNotFitAlone() {
    List<ChatMessage> chat = List.of(ChatMessage.system("be brief"), ChatMessage.user("hello"));
    int[] ids = reference.tokenizer().encode(reference.chatTemplate().render(chat, true));
    Completed c = run(new CompletionRequest(new CompletionRequest.Chat(chat), 4, 0, 1, 0, 0, List.of(), -1, false));
    assertEquals(ids.length, c.promptTokens());
    GeneratedSequence want = new Generator(referenceModel).generate(List.of(ids), GenerationSettings.greedy(4),
        t -> reference.tokenizer().decode(t, true)).sequences().get(0);
    assertEquals(want.text(), c.text());

    List<BatchModel.Outcome<CompletionReply>> out = served.run(List.of(text("hi there", 2048, -1, false),
        text("", 1, -1, false), text("hi there", 1, -1, false)));
    assertTrue(((CompletionReply.Rejected) out.get(0).value()).message().contains("maximum context length is 2048 tokens"));
    assertEquals("the prompt is empty (0 tokens)", ((CompletionReply.Rejected) out.get(1).value()).message());
    assertInstanceOf(Completed.class, out.get(2).value());
    assertThrows(IllegalArgumentException.class, () -> new CompletionRequest(new CompletionRequest.Chat(chat), 1, 0, 1, 0,
        0, List.of(), 1, true));
  }

  @Test
  void shouldCutTheTextBeforeTheFirstStopString() {
    Completed free = run(text("the cat", 16, -1, false));
    assertTrue(free.text().length() > 2, free.text());
    String stop = free.text().substring(1, 2);
    Completed cut = run(new CompletionRequest(new CompletionRequest.Text("the cat"), 16, 0, 1, 0, 0, List.of(stop), -1,
        false));
    assertEquals(free.text().substring(0, free.text().indexOf(stop)), cut.text());
    assertEquals(FinishReason.STOP_STRING, cut.finishReason());
  }
}
