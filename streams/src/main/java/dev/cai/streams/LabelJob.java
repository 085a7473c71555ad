package dev.cai.streams;

import dev.cai.actors.BatchingSettings;
import dev.cai.actors.Completion;
import dev.cai.actors.GenerateRequest;
import dev.cai.actors.ModelActor;
import dev.cai.actors.ModelLoading;
import dev.cai.actors.OptionScores;
import dev.cai.actors.ScoreOptionsRequest;
import dev.cai.persistence.RecordStore;
import dev.cai.runtime.constitution.Constitution;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.tokenizer.ChatTemplate;
import dev.cai.runtime.model.DeviceSetting;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * One AI-feedback labeling job: spawns the policy actor (samples pairs), the feedback actor (scores the
 * options) and, for chain-of-thought, a feedback generation actor (reasons), then runs {@link LabelGraph}.
 * The actors live as long as {@code system}.
 */
public final class LabelJob {
  private LabelJob() {}

  /**
   * What to run.
   *
   * @param sampling how the policy samples the pair (temperature 1 by default: diverse pairs)
   * @param reasoning how the feedback model writes chain-of-thought reasoning
   */
  public record Config(Path policyModel, Path feedbackModel, List<PromptSource> sources, Constitution constitution,
      GenerationSettings sampling, GenerationSettings reasoning, LabelGraph.Settings graph, BatchingSettings batching,
      DeviceSetting device, Duration askTimeout) {}

  public static CompletionStage<LabelGraph.Summary> run(ActorSystem<?> system, RecordStore store, Config c,
      Consumer<LabelGraph.Summary> progress) {
    ActorRef<ModelActor.Command<GenerateRequest, Completion>> policy = system.systemActorOf(
        ModelActor.<GenerateRequest, Completion>create("policy", () -> ModelLoading.generation(c.policyModel(), c.device()),
            c.batching()), "policy-" + System.nanoTime(), Props.empty());
    ActorRef<ModelActor.Command<ScoreOptionsRequest, OptionScores>> feedback = system.systemActorOf(
        ModelActor.<ScoreOptionsRequest, OptionScores>create("feedback",
            () -> ModelLoading.feedback(c.feedbackModel(), c.device()), c.batching()), "feedback-" + System.nanoTime(),
        Props.empty());
    Responder reasoner = null;
    if (c.graph().chainOfThought()) {
      ActorRef<ModelActor.Command<GenerateRequest, Completion>> gen = c.feedbackModel().equals(c.policyModel()) ? policy
          : system.systemActorOf(ModelActor.<GenerateRequest, Completion>create("feedback-reasoner",
              () -> ModelLoading.generation(c.feedbackModel(), c.device()), c.batching()), "reasoner-" + System.nanoTime(),
              Props.empty());
      reasoner = new ActorResponder(gen, c.reasoning(), c.askTimeout(), system);
    }
    OptionScorer scorer = (context, a, b) -> AskPattern.askWithStatus(feedback,
        replyTo -> new ModelActor.Submit<>(new ScoreOptionsRequest(context, a, b), replyTo), c.askTimeout(), system.scheduler());
    ChatTemplate feedbackTemplate = ModelFiles.chatTemplateOf(c.feedbackModel()); // frames the questions
    LabelGraph.Models models = new LabelGraph.Models(new ActorResponder(policy, c.sampling(), c.askTimeout(), system),
        ModelFiles.modelId(c.policyModel()), scorer, reasoner, feedbackTemplate, ModelFiles.modelId(c.feedbackModel()));
    return LabelGraph.run(system, c.sources(), store, c.constitution(), models, c.graph(), progress);
  }
}
