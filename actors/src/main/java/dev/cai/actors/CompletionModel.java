package dev.cai.actors;

import dev.cai.actors.CompletionReply.Alternative;
import dev.cai.actors.CompletionReply.Completed;
import dev.cai.actors.CompletionReply.Rejected;
import dev.cai.actors.CompletionReply.TokenLogProbs;
import dev.cai.runtime.generate.ContinuationScorer;
import dev.cai.runtime.generate.FinishReason;
import dev.cai.runtime.generate.GeneratedSequence;
import dev.cai.runtime.generate.GenerationResult;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.generate.Generator;
import dev.cai.runtime.generate.TokenScores;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.tokenizer.ChatTemplate;
import dev.cai.runtime.tokenizer.TextTokenizer;
import dev.cai.runtime.tokenizer.TokenPieces;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A causal LM served for OpenAI-style completions by a {@link ModelActor} (the model behind {@code cai serve}): raw-text
 * prompts are tokenized as they are, chat prompts rendered with the model's chat template; requests with equal
 * sampling settings (seeds aside) run as one batched {@link Generator} call, each from its own seed; then one
 * {@link ContinuationScorer} pass over the whole batch reads the log-probs (and top-k alternatives) of every request
 * that asks for them, prompt tokens included when echoed. A request whose prompt plus {@code maxTokens} does not fit
 * the context is rejected alone.
 */
public final class CompletionModel implements BatchModel<CompletionRequest, CompletionReply> {
  private final LlamaModel model;
  private final TextTokenizer tokenizer;
  private final ChatTemplate template;
  private final String id;
  private final Generator generator;
  private final ContinuationScorer scorer;

  /** Takes ownership of {@code model} and {@code tokenizer}: {@link #close()} closes both. */
  public CompletionModel(LlamaModel model, TextTokenizer tokenizer, ChatTemplate template, String id) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.template = template;
    this.id = id;
    this.generator = new Generator(model);
    this.scorer = new ContinuationScorer(model);
  }

  @Override
  public List<Outcome<CompletionReply>> run(List<CompletionRequest> batch) {
    int n = batch.size();
    CompletionReply[] replies = new CompletionReply[n];
    int[][] prompts = new int[n][];
    for (int i = 0; i < n; i++) {
      int[] ids = tokenizer.encode(promptText(batch.get(i)));
      Optional<String> problem = checkLength(ids.length, batch.get(i).maxTokens());
      if (problem.isPresent()) {
        replies[i] = new Rejected(problem.get());
      } else {
        prompts[i] = ids;
      }
    }
    GeneratedSequence[] generated = generate(batch, prompts);
    TokenScores[] scores = score(batch, prompts, generated);
    List<Outcome<CompletionReply>> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(Outcome.ok(replies[i] != null ? replies[i] : completed(batch.get(i), prompts[i], generated[i], scores[i])));
    }
    return out;
  }

  /** The prompt as the model reads it: raw text, or the conversation in the chat template with an open assistant turn. */
  private String promptText(CompletionRequest r) {
    return r.prompt() instanceof CompletionRequest.Chat c ? template.render(c.messages(), true)
        : ((CompletionRequest.Text) r.prompt()).text();
  }

  /** Why a prompt of {@code promptTokens} cannot get {@code maxTokens} more, if it cannot. */
  private Optional<String> checkLength(int promptTokens, int maxTokens) {
    if (promptTokens == 0) {
      return Optional.of("the prompt is empty (0 tokens)");
    }
    int context = model.maxSequenceLength();
    if ((long) promptTokens + maxTokens > context) {
      return Optional.of("this model's maximum context length is " + context + " tokens, but " + (promptTokens + maxTokens)
          + " were requested (" + promptTokens + " in the prompt, " + maxTokens + " for the completion); shorten the "
          + "prompt or lower max_tokens");
    }
    return Optional.empty();
  }

  /** Generates for every accepted request with {@code maxTokens > 0}: one generator call per distinct sampling. */
  private GeneratedSequence[] generate(List<CompletionRequest> batch, int[][] prompts) {
    GeneratedSequence[] out = new GeneratedSequence[batch.size()];
    // positions i of the batch; rejected requests and those with max_tokens 0 generate nothing
    List<Integer> positions = java.util.stream.IntStream.range(0, batch.size()).boxed().toList();
    Map<GenerationSettings, List<Integer>> groups = BatchModel.groupBy(positions,
        i -> prompts[i] != null && batch.get(i).maxTokens() > 0 ? settings(batch.get(i)) : null);
    for (Map.Entry<GenerationSettings, List<Integer>> g : groups.entrySet()) {
      List<int[]> ids = g.getValue().stream().map(i -> prompts[i]).toList();
      long[] seeds = g.getValue().stream().mapToLong(i -> batch.get(i).seed()).toArray();
      GenerationResult result = generator.generate(ids, seeds, g.getKey(), tokens -> tokenizer.decode(tokens, true));
      for (int k = 0; k < ids.size(); k++) {
        out[g.getValue().get(k)] = result.sequences().get(k);
      }
    }
    return out;
  }

  /** The request's sampling (seed 0: requests that differ only in their seed share a call); chats stop at end of turn. */
  private GenerationSettings settings(CompletionRequest r) {
    GenerationSettings s = new GenerationSettings(r.maxTokens(), r.temperature(), r.topP(), r.topK(), 0L, true, r.stop());
    return r.prompt() instanceof CompletionRequest.Chat ? PolicyModel.withEndOfTurn(template, s) : s;
  }

  /**
   * One scoring pass for every accepted request that asks for log-probs: the new tokens after the prompt, or with
   * echo every token after the first prompt token; the most alternatives any of them asks for.
   */
  private TokenScores[] score(List<CompletionRequest> batch, int[][] prompts, GeneratedSequence[] generated) {
    TokenScores[] out = new TokenScores[batch.size()];
    List<Integer> members = new ArrayList<>();
    List<int[]> contexts = new ArrayList<>();
    List<int[]> continuations = new ArrayList<>();
    int topK = 0;
    for (int i = 0; i < batch.size(); i++) {
      CompletionRequest r = batch.get(i);
      if (prompts[i] == null || r.logprobs() < 0) {
        continue;
      }
      int[] prompt = prompts[i];
      int[] sequence = concat(prompt, newTokens(generated[i]));
      int split = r.echo() ? 1 : prompt.length;
      members.add(i);
      contexts.add(Arrays.copyOf(sequence, split));
      continuations.add(Arrays.copyOfRange(sequence, split, sequence.length));
      topK = Math.max(topK, r.logprobs());
    }
    List<TokenScores> scored = scorer.tokenScores(contexts, continuations, 1.0, topK);
    for (int k = 0; k < members.size(); k++) {
      out[members.get(k)] = scored.get(k);
    }
    return out;
  }

  private Completed completed(CompletionRequest r, int[] prompt, GeneratedSequence seq, TokenScores scores) {
    int[] tokens = newTokens(seq);
    String newText = seq == null ? "" : seq.text();
    String prefix = r.echo() ? ((CompletionRequest.Text) r.prompt()).text() : "";
    FinishReason finish = seq == null ? FinishReason.LENGTH : seq.finishReason();
    Optional<TokenLogProbs> logprobs = scores == null ? Optional.empty()
        : Optional.of(logProbs(r, prompt, tokens, scores));
    return new Completed(prefix + newText, finish, prompt.length, tokens.length, logprobs);
  }

  /** The log-probs object: echoed prompt tokens (the first without a score), then the new tokens. */
  private TokenLogProbs logProbs(CompletionRequest r, int[] prompt, int[] tokens, TokenScores scores) {
    List<String> texts = new ArrayList<>();
    List<Float> lps = new ArrayList<>();
    List<List<Alternative>> top = new ArrayList<>();
    List<Integer> offsets = new ArrayList<>();
    int offset = 0;
    int scored = 0; // next row of scores
    List<String> pieces = new ArrayList<>();
    List<Integer> ids = new ArrayList<>();
    if (r.echo()) {
      pieces.addAll(Arrays.asList(TokenPieces.of(tokenizer, prompt, false)));
      Arrays.stream(prompt).forEach(ids::add);
    }
    pieces.addAll(Arrays.asList(TokenPieces.of(tokenizer, tokens, true)));
    Arrays.stream(tokens).forEach(ids::add);
    for (int j = 0; j < pieces.size(); j++) {
      texts.add(pieces.get(j));
      offsets.add(offset);
      offset += pieces.get(j).codePointCount(0, pieces.get(j).length());
      if (r.echo() && j == 0) {
        lps.add(null);
        top.add(null);
        continue;
      }
      lps.add(scores.logProbs()[scored]);
      top.add(alternatives(scores, scored, r.logprobs(), ids.get(j)));
      scored++;
    }
    return new TokenLogProbs(texts, lps, top, offsets);
  }

  /** The {@code k} likeliest tokens at score row {@code row}, and the actual token when it is not among them. */
  private List<Alternative> alternatives(TokenScores scores, int row, int k, int actual) {
    List<Alternative> out = new ArrayList<>(k + 1);
    boolean seen = false;
    for (int a = 0; a < k; a++) {
      int tokenId = scores.topIds()[row][a];
      seen |= tokenId == actual;
      out.add(new Alternative(tokenizer.decode(new int[] {tokenId}, false), tokenId, scores.topLogProbs()[row][a]));
    }
    if (!seen) {
      out.add(new Alternative(tokenizer.decode(new int[] {actual}, false), actual, scores.logProbs()[row]));
    }
    return out;
  }

  private static int[] newTokens(GeneratedSequence seq) {
    return seq == null ? new int[0] : seq.tokens();
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** Longest prompt plus completion, in tokens. */
  public int maxSequenceLength() {
    return model.maxSequenceLength();
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public void close() {
    // the generator and scorer hold no native memory; the model's NDManager owns the weights
    model.close();
    tokenizer.close();
  }
}
