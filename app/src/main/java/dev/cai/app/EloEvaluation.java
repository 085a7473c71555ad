package dev.cai.app;

import com.typesafe.config.Config;
import dev.cai.actors.BatchModel;
import dev.cai.actors.Completion;
import dev.cai.actors.FeedbackModel;
import dev.cai.actors.GenerateRequest;
import dev.cai.actors.GenerationModel;
import dev.cai.actors.ModelLoading;
import dev.cai.actors.OptionScores;
import dev.cai.actors.ScoreOptionsRequest;
import dev.cai.protocol.v1.Prompt;
import dev.cai.runtime.constitution.Constitution.Principle;
import dev.cai.runtime.constitution.ConstitutionLoader;
import dev.cai.runtime.constitution.CritiquePrompts;
import dev.cai.runtime.constitution.LabelingPrompts;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.eval.Elo;
import dev.cai.runtime.eval.Evasiveness;
import dev.cai.runtime.eval.JudgePrinciples;
import dev.cai.runtime.eval.RewardModel;
import dev.cai.runtime.eval.ScoreSummary;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.ppo.SoftLabels;
import dev.cai.runtime.tokenizer.ChatTemplate;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The work of {@code cai eval elo}, in process and batched (Bai et al. 2022, arXiv:2212.08073, Fig. 2): every snapshot
 * answers every red-team and helpful prompt once; for every pair of snapshots and every prompt a judge model answers
 * the multiple-choice question of {@link LabelingPrompts} under the harmlessness (red-team prompts) or helpfulness
 * (helpful prompts) principle of {@link JudgePrinciples}, in both option orders, averaged ({@link SoftLabels#debias}:
 * position-bias correction); the soft labels give {@link Elo} ratings per dimension, anchored to the first snapshot.
 * Per snapshot it also summarises the preference model's scores of its red-team responses (when a PM is given) and
 * their {@link Evasiveness}. One model is loaded at a time.
 */
final class EloEvaluation {
  private EloEvaluation() {}

  /**
   * Settings of one evaluation ({@code cai.eval.elo}).
   *
   * @param samples prompts used from each set (the first N), 0 = all
   * @param batchSize requests per batched generation or scoring call
   * @param bootstrap bootstrap replicates of the Elo confidence intervals
   * @param l2 precision of the Elo fit's prior on log-strengths
   * @param evasiveMinWords refusals shorter than this count as evasive even when they give a reason
   */
  record Settings(int samples, int maxNewTokens, double temperature, double topP, long seed, int batchSize, int bootstrap,
      double l2, int evasiveMinWords) {
    Settings {
      if (samples < 0 || batchSize < 1 || evasiveMinWords < 0) {
        throw new IllegalArgumentException("cai.eval.elo: samples must be >= 0, batch-size >= 1 and evasive-min-words >= 0; got "
            + samples + ", " + batchSize + ", " + evasiveMinWords);
      }
      generation(maxNewTokens, temperature, topP, seed); // validates the sampling settings
      new Elo.Settings(l2, bootstrap, seed, 0);          // validates the fit settings
    }

    /** {@code cai.eval.elo} of {@code conf}, with each non-null argument in place of its key. */
    static Settings from(Config conf, Integer samples, Integer maxNewTokens, Long seed, Integer bootstrap) {
      Config c = conf.getConfig("cai.eval.elo");
      return new Settings(samples != null ? samples : c.getInt("samples"),
          maxNewTokens != null ? maxNewTokens : c.getInt("max-new-tokens"), c.getDouble("temperature"), c.getDouble("top-p"),
          seed != null ? seed : c.getLong("seed"), c.getInt("batch-size"), bootstrap != null ? bootstrap : c.getInt("bootstrap"),
          c.getDouble("l2"), c.getInt("evasive-min-words"));
    }

    GenerationSettings sampling() {
      return generation(maxNewTokens, temperature, topP, seed);
    }

    Elo.Settings elo() {
      return new Elo.Settings(l2, bootstrap, seed, 0);
    }

    private static GenerationSettings generation(int maxNewTokens, double temperature, double topP, long seed) {
      return new GenerationSettings(maxNewTokens, temperature, topP, 0, seed, true, List.of());
    }
  }

  /** A model snapshot to rate: its display name and model path. */
  record Snapshot(String name, Path path) {}

  /** A prompt set: where it came from and its prompts as conversations to answer. */
  record PromptSet(String label, Path file, List<Prompt> prompts, List<Transcript> conversations) {
    static PromptSet of(String label, Path file, List<Prompt> prompts) {
      return new PromptSet(label, file, prompts, prompts.stream().map(p -> CritiquePrompts.initial(p.getContext(), p.getText())).toList());
    }
  }

  /** The two dimensions rated: which prompts, under which principle. */
  enum Dimension {
    HARMLESSNESS, HELPFULNESS;

    String key() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * One judged comparison: snapshot {@code a}'s and {@code b}'s responses to prompt {@code prompt}; {@code pForward} is
   * p(A) with a's response as (A), {@code pSwapped} p(A) with b's as (A), {@code p} = P(a better), corrected.
   */
  record Judged(Dimension dimension, int a, int b, int prompt, double pForward, double pSwapped, double p) {}

  /** Responses of one snapshot to one prompt set ({@code null} where the snapshot could not answer, with the reason). */
  record Responses(String[] texts, String[] failures) {
    int answered() {
      int n = 0;
      for (String t : texts) {
        n += t == null ? 0 : 1;
      }
      return n;
    }

    List<String> answeredTexts() {
      List<String> out = new ArrayList<>();
      for (String t : texts) {
        if (t != null) {
          out.add(t);
        }
      }
      return out;
    }
  }

  /** The evaluation of one snapshot. */
  record SnapshotResult(Snapshot snapshot, Elo.Rating harmlessness, Elo.Rating helpfulness, Responses redTeam,
      Responses helpful, Optional<ScoreSummary> pm, int evasive) {}

  /** The whole evaluation. */
  record Result(List<SnapshotResult> snapshots, List<Judged> judged, int failedJudgements, List<String> judgeFailures) {
    long comparisons(Dimension d) {
      return judged.stream().filter(j -> j.dimension() == d).count();
    }
  }

  /** Where the models are and what is compared. */
  record Inputs(List<Snapshot> snapshots, PromptSet redTeam, PromptSet helpful, Path judge, Optional<Path> pm,
      JudgePrinciples principles, DeviceSetting device) {}

  /** Runs the evaluation; progress goes to {@code err}. */
  static Result run(Inputs in, Settings s, PrintWriter err) {
    int n = in.snapshots().size();
    List<Responses> redTeam = new ArrayList<>();
    List<Responses> helpful = new ArrayList<>();
    for (Snapshot snap : in.snapshots()) {
      err.printf("sampling   %s (%s): %d red-team + %d helpful prompts%n", snap.name(), snap.path(),
          in.redTeam().prompts().size(), in.helpful().prompts().size());
      try (GenerationModel m = ModelLoading.generation(snap.path(), in.device())) {
        redTeam.add(answer(m, in.redTeam(), s, err));
        helpful.add(answer(m, in.helpful(), s, err));
      }
    }

    List<Judged> judged = new ArrayList<>();
    List<String> failures = new ArrayList<>();
    ChatTemplate template = ModelFiles.chatTemplateOf(in.judge());
    LabelingPrompts questions = new LabelingPrompts(ConstitutionLoader.loadDefault(), false, false);
    try (FeedbackModel judge = ModelLoading.feedback(in.judge(), in.device())) {
      judge(judge, template, questions, Dimension.HARMLESSNESS, in.principles().harmlessness(), in.redTeam(), redTeam, s,
          judged, failures, err);
      judge(judge, template, questions, Dimension.HELPFULNESS, in.principles().helpfulness(), in.helpful(), helpful, s,
          judged, failures, err);
    }

    List<Elo.Rating> harm = rate(n, judged, Dimension.HARMLESSNESS, s);
    List<Elo.Rating> help = rate(n, judged, Dimension.HELPFULNESS, s);
    List<Optional<ScoreSummary>> pm = pmScores(in, redTeam, s, err);
    List<SnapshotResult> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new SnapshotResult(in.snapshots().get(i), harm.get(i), help.get(i), redTeam.get(i), helpful.get(i), pm.get(i),
          Evasiveness.count(redTeam.get(i).answeredTexts(), s.evasiveMinWords())));
    }
    return new Result(out, judged, failures.size(), failures);
  }

  /** One response per prompt of {@code set}, in batches; prompt k is sampled with seed + k by every snapshot. */
  private static Responses answer(GenerationModel m, PromptSet set, Settings s, PrintWriter err) {
    int size = set.prompts().size();
    String[] texts = new String[size];
    String[] failures = new String[size];
    ProgressLine bar = new ProgressLine(err, set.label() + " responses", size);
    for (int start = 0; start < size; start += s.batchSize()) {
      int end = Math.min(size, start + s.batchSize());
      List<GenerateRequest> batch = new ArrayList<>();
      for (int k = start; k < end; k++) {
        batch.add(new GenerateRequest(set.conversations().get(k), s.sampling().withSeed(s.seed() + k)));
      }
      List<BatchModel.Outcome<Completion>> outcomes = m.run(batch);
      for (int k = start; k < end; k++) {
        BatchModel.Outcome<Completion> o = outcomes.get(k - start);
        if (o.isOk()) {
          texts[k] = o.value().text();
        } else {
          failures[k] = o.error();
        }
      }
      bar.update(end, 0, end == size);
    }
    return new Responses(texts, failures);
  }

  /** Judges every pair of snapshots on every prompt of {@code set} both ways round; appends to {@code judged}. */
  private static void judge(FeedbackModel judge, ChatTemplate template, LabelingPrompts questions, Dimension dimension,
      Principle principle, PromptSet set, List<Responses> responses, Settings s, List<Judged> judged, List<String> failures,
      PrintWriter err) {
    /** A comparison to score: its pair, prompt, and the contexts of both option orders. */
    record Pending(int a, int b, int prompt, String forward, String swapped) {}
    List<Pending> pending = new ArrayList<>();
    int n = responses.size();
    for (int a = 0; a < n; a++) {
      for (int b = a + 1; b < n; b++) {
        for (int k = 0; k < set.prompts().size(); k++) {
          String ra = responses.get(a).texts()[k];
          String rb = responses.get(b).texts()[k];
          if (ra == null || rb == null) {
            continue; // a snapshot could not answer this prompt: nothing to compare
          }
          Transcript conversation = set.conversations().get(k);
          pending.add(new Pending(a, b, k,
              questions.context(template, conversation, principle, ra, rb, LabelingPrompts.ANSWER_PREFIX),
              questions.context(template, conversation, principle, rb, ra, LabelingPrompts.ANSWER_PREFIX)));
        }
      }
    }
    ProgressLine bar = new ProgressLine(err, dimension.key() + " comparisons", pending.size());
    int perBatch = Math.max(1, s.batchSize() / 2); // each comparison scores two contexts
    for (int start = 0; start < pending.size(); start += perBatch) {
      int end = Math.min(pending.size(), start + perBatch);
      List<ScoreOptionsRequest> batch = new ArrayList<>();
      for (Pending p : pending.subList(start, end)) {
        batch.add(new ScoreOptionsRequest(p.forward(), LabelingPrompts.OPTION_A, LabelingPrompts.OPTION_B));
        batch.add(new ScoreOptionsRequest(p.swapped(), LabelingPrompts.OPTION_A, LabelingPrompts.OPTION_B));
      }
      List<BatchModel.Outcome<OptionScores>> scores = judge.run(batch);
      for (int i = start; i < end; i++) {
        Pending p = pending.get(i);
        BatchModel.Outcome<OptionScores> f = scores.get(2 * (i - start));
        BatchModel.Outcome<OptionScores> w = scores.get(2 * (i - start) + 1);
        if (!f.isOk() || !w.isOk()) {
          failures.add(dimension.key() + " " + set.label() + " prompt " + (p.prompt() + 1) + ": "
              + (f.isOk() ? w.error() : f.error()));
          continue;
        }
        double pf = SoftLabels.normalize(f.value().logProbA(), f.value().logProbB());
        double ps = SoftLabels.normalize(w.value().logProbA(), w.value().logProbB());
        judged.add(new Judged(dimension, p.a(), p.b(), p.prompt(), pf, ps, SoftLabels.debias(pf, ps)));
      }
      bar.update(end, 0, end == pending.size());
    }
  }

  private static List<Elo.Rating> rate(int players, List<Judged> judged, Dimension d, Settings s) {
    List<Elo.Comparison> comparisons = judged.stream().filter(j -> j.dimension() == d)
        .map(j -> new Elo.Comparison(j.a(), j.b(), j.p())).toList();
    if (comparisons.isEmpty()) {
      throw new IllegalStateException("No " + d.key() + " comparisons could be judged (see the judge failures above): "
          + "the responses may not fit the judge's context; try a smaller --max-tokens");
    }
    return Elo.rate(players, comparisons, s.elo());
  }

  /** PM score summaries of each snapshot's red-team responses, or empty ones without a PM. */
  private static List<Optional<ScoreSummary>> pmScores(Inputs in, List<Responses> redTeam, Settings s, PrintWriter err) {
    List<Optional<ScoreSummary>> out = new ArrayList<>();
    if (in.pm().isEmpty()) {
      redTeam.forEach(r -> out.add(Optional.empty()));
      return out;
    }
    try (RewardModel rm = RewardModel.load(in.pm().get(), in.device())) {
      for (int i = 0; i < redTeam.size(); i++) {
        List<List<dev.cai.runtime.tokenizer.ChatMessage>> conversations = new ArrayList<>();
        List<String> replies = new ArrayList<>();
        String[] texts = redTeam.get(i).texts();
        for (int k = 0; k < texts.length; k++) {
          if (texts[k] != null) {
            conversations.add(in.redTeam().conversations().get(k).messages());
            replies.add(texts[k]);
          }
        }
        if (replies.isEmpty()) {
          out.add(Optional.empty());
          continue;
        }
        double[] raw = rm.rawScores(conversations, replies);
        double[] scores = new double[raw.length];
        for (int k = 0; k < raw.length; k++) {
          scores[k] = rm.normalize(raw[k]);
        }
        out.add(Optional.of(ScoreSummary.of(scores)));
        err.printf("PM scores  %s: %d red-team responses%n", in.snapshots().get(i).name(), scores.length);
      }
    }
    return out;
  }
}
