package dev.cai.actors.work;

import dev.cai.actors.BatchModel;
import dev.cai.actors.Completion;
import dev.cai.actors.OptionScores;
import dev.cai.actors.PolicySample;
import dev.cai.protocol.v1.ChatTurn;
import dev.cai.protocol.v1.CompletionResult;
import dev.cai.protocol.v1.Conversation;
import dev.cai.protocol.v1.GenerateWork;
import dev.cai.protocol.v1.OptionScoresResult;
import dev.cai.protocol.v1.PolicySampleResult;
import dev.cai.protocol.v1.RolloutResult;
import dev.cai.protocol.v1.RolloutWork;
import dev.cai.protocol.v1.SampleOutcome;
import dev.cai.protocol.v1.Sampling;
import dev.cai.protocol.v1.ScoreOptionsWork;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.GenerationSettings;
import java.util.Arrays;
import java.util.List;

/**
 * Conversions between the model work that crosses nodes (the cai.v1 work messages) and the requests and replies of
 * the model actors; what arrives from the network is validated and a bad field fails with a message naming it.
 */
public final class WorkCodec {
  private WorkCodec() {}

  public static GenerateWork generate(Transcript conversation, GenerationSettings s) {
    return GenerateWork.newBuilder().setSampling(sampling(s)).addAllConversation(turns(conversation)).build();
  }

  private static List<ChatTurn> turns(Transcript conversation) {
    return conversation.turns().stream().map(t -> ChatTurn.newBuilder()
        .setSpeaker(t.speaker() == Transcript.Speaker.HUMAN ? ChatTurn.Speaker.HUMAN : ChatTurn.Speaker.ASSISTANT)
        .setText(t.text()).build()).toList();
  }

  /** The conversation of a received {@link GenerateWork}; an empty one or a turn without a speaker is refused. */
  public static Transcript conversation(GenerateWork w) {
    return transcript(w.getConversationList(), "generate work");
  }

  private static Transcript transcript(List<ChatTurn> turns, String what) {
    if (turns.isEmpty()) {
      throw new IllegalArgumentException(what + " has an empty conversation");
    }
    return new Transcript(turns.stream().map(t -> new Transcript.Turn(switch (t.getSpeaker()) {
      case HUMAN -> Transcript.Speaker.HUMAN;
      case ASSISTANT -> Transcript.Speaker.ASSISTANT;
      default -> throw new IllegalArgumentException(what + " has a turn with speaker " + t.getSpeaker());
    }, t.getText())).toList());
  }

  /** Rollout work: one conversation per seed, sampled by {@code requiredVersion} with the policy's settings. */
  public static RolloutWork rollouts(List<Transcript> conversations, long[] seeds, long requiredVersion,
      GenerationSettings sampling) {
    RolloutWork.Builder b = RolloutWork.newBuilder().setRequiredVersion(requiredVersion)
        .setTemperature(sampling.temperature()).setMaxNewTokens(sampling.maxNewTokens());
    conversations.forEach(c -> b.addConversations(Conversation.newBuilder().addAllTurns(turns(c))));
    Arrays.stream(seeds).forEach(b::addSeeds);
    return b.build();
  }

  /** The conversations of received rollout work; their count must equal the seeds'. */
  public static List<Transcript> conversations(RolloutWork w) {
    if (w.getConversationsCount() != w.getSeedsCount() || w.getConversationsCount() == 0) {
      throw new IllegalArgumentException("rollout work has " + w.getConversationsCount() + " conversations and "
          + w.getSeedsCount() + " seeds (need as many, at least one)");
    }
    return w.getConversationsList().stream().map(c -> transcript(c.getTurnsList(), "rollout work")).toList();
  }

  public static RolloutResult result(long version, List<BatchModel.Outcome<PolicySample>> samples) {
    RolloutResult.Builder b = RolloutResult.newBuilder().setVersion(version);
    for (BatchModel.Outcome<PolicySample> o : samples) {
      if (o.isOk()) {
        PolicySample p = o.value();
        PolicySampleResult.Builder r = PolicySampleResult.newBuilder().setEndedWithEos(p.endedWithEos()).setText(p.text());
        Arrays.stream(p.promptIds()).forEach(r::addPromptIds);
        Arrays.stream(p.responseIds()).forEach(r::addResponseIds);
        for (float lp : p.logProbs()) {
          r.addLogProbs(lp);
        }
        b.addSamples(SampleOutcome.newBuilder().setSample(r));
      } else {
        b.addSamples(SampleOutcome.newBuilder().setError(o.error()));
      }
    }
    return b.build();
  }

  /**
   * The samples of a received result, checked against what was asked: one per conversation, by {@code version};
   * a sample whose log-probs do not match its tokens is refused.
   */
  public static List<BatchModel.Outcome<PolicySample>> samples(RolloutResult r, int expected, long version) {
    if (r.getVersion() != version || r.getSamplesCount() != expected) {
      throw new IllegalStateException("policy worker answered " + r.getSamplesCount() + " of " + expected
          + " rollouts with version " + r.getVersion() + " instead of " + version);
    }
    return r.getSamplesList().stream().map(o -> {
      if (!o.hasSample()) {
        return BatchModel.Outcome.<PolicySample>failed(o.getError());
      }
      PolicySampleResult p = o.getSample();
      float[] logProbs = new float[p.getLogProbsCount()];
      for (int i = 0; i < logProbs.length; i++) {
        logProbs[i] = p.getLogProbs(i);
      }
      return BatchModel.Outcome.ok(new PolicySample(p.getPromptIdsList().stream().mapToInt(Integer::intValue).toArray(),
          p.getResponseIdsList().stream().mapToInt(Integer::intValue).toArray(), logProbs, p.getEndedWithEos(), p.getText()));
    }).toList();
  }

  static Sampling sampling(GenerationSettings s) {
    return Sampling.newBuilder().setMaxNewTokens(s.maxNewTokens()).setTemperature(s.temperature()).setTopP(s.topP())
        .setTopK(s.topK()).setSeed(s.seed()).setStopAtEos(s.stopAtEos()).addAllStopStrings(s.stopStrings()).build();
  }

  /** The settings of a received {@link GenerateWork}; out-of-range values fail as {@link GenerationSettings} does. */
  public static GenerationSettings settings(GenerateWork w) {
    if (!w.hasSampling()) {
      throw new IllegalArgumentException("generate work has no sampling settings");
    }
    Sampling s = w.getSampling();
    return new GenerationSettings(s.getMaxNewTokens(), s.getTemperature(), s.getTopP(), s.getTopK(), s.getSeed(),
        s.getStopAtEos(), s.getStopStringsList());
  }

  public static ScoreOptionsWork scoreOptions(String context, String optionA, String optionB) {
    return ScoreOptionsWork.newBuilder().setContext(context).setOptionA(optionA).setOptionB(optionB).build();
  }

  public static CompletionResult result(Completion c) {
    return CompletionResult.newBuilder().setText(c.text()).setPromptTokens(c.promptTokens())
        .setCompletionTokens(c.completionTokens()).setEndedWithEos(c.endedWithEos()).build();
  }

  public static Completion completion(CompletionResult r) {
    return new Completion(r.getText(), r.getPromptTokens(), r.getCompletionTokens(), r.getEndedWithEos());
  }

  public static OptionScoresResult result(OptionScores s) {
    return OptionScoresResult.newBuilder().setLogProbA(s.logProbA()).setLogProbB(s.logProbB())
        .setContextTokens(s.contextTokens()).build();
  }

  /** The scores of a received result; a log-probability that is NaN or positive is refused. */
  public static OptionScores optionScores(OptionScoresResult r) {
    for (double lp : new double[] {r.getLogProbA(), r.getLogProbB()}) {
      if (!(lp <= 0)) {
        throw new IllegalArgumentException("option scores carry log-probability " + lp + " (must be <= 0)");
      }
    }
    return new OptionScores(r.getLogProbA(), r.getLogProbB(), r.getContextTokens());
  }
}
