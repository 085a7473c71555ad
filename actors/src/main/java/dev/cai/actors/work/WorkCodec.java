package dev.cai.actors.work;

import dev.cai.actors.Completion;
import dev.cai.actors.OptionScores;
import dev.cai.protocol.v1.ChatTurn;
import dev.cai.protocol.v1.CompletionResult;
import dev.cai.protocol.v1.GenerateWork;
import dev.cai.protocol.v1.OptionScoresResult;
import dev.cai.protocol.v1.Sampling;
import dev.cai.protocol.v1.ScoreOptionsWork;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.GenerationSettings;
import java.util.List;

/**
 * Conversions between the model work that crosses nodes (the cai.v1 work messages) and the requests and replies of
 * the model actors; what arrives from the network is validated and a bad field fails with a message naming it.
 */
public final class WorkCodec {
  private WorkCodec() {}

  public static GenerateWork generate(Transcript conversation, GenerationSettings s) {
    GenerateWork.Builder b = GenerateWork.newBuilder().setSampling(sampling(s));
    for (Transcript.Turn t : conversation.turns()) {
      b.addConversation(ChatTurn.newBuilder()
          .setSpeaker(t.speaker() == Transcript.Speaker.HUMAN ? ChatTurn.Speaker.HUMAN : ChatTurn.Speaker.ASSISTANT)
          .setText(t.text()));
    }
    return b.build();
  }

  /** The conversation of a received {@link GenerateWork}; an empty one or a turn without a speaker is refused. */
  public static Transcript conversation(GenerateWork w) {
    if (w.getConversationCount() == 0) {
      throw new IllegalArgumentException("generate work has an empty conversation");
    }
    List<Transcript.Turn> turns = w.getConversationList().stream().map(t -> new Transcript.Turn(switch (t.getSpeaker()) {
      case HUMAN -> Transcript.Speaker.HUMAN;
      case ASSISTANT -> Transcript.Speaker.ASSISTANT;
      default -> throw new IllegalArgumentException("generate work has a turn with speaker " + t.getSpeaker());
    }, t.getText())).toList();
    return new Transcript(turns);
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
