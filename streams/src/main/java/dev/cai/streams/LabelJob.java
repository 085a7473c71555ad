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
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.runtime.tokenizer.ChatTemplate;
import dev.cai.streams.remote.OpenAiClient;
import dev.cai.streams.remote.RemoteModel;
import dev.cai.streams.remote.RemoteOptionScorer;
import dev.cai.streams.remote.RemoteResponder;
import dev.cai.streams.remote.RemoteSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * One AI-feedback labeling job: spawns the policy actor (samples pairs), the feedback actor (scores the
 * options) and, for chain-of-thought, a feedback generation actor (reasons), then runs {@link LabelGraph}. A model
 * given as {@code openai:...} is a remote server instead: it samples and reasons by chat completions and scores the
 * options by prompt log-probs (one client per server spec, shared by its roles). The actors live as long as
 * {@code system}.
 */
public final class LabelJob {
  private LabelJob() {}

  /**
   * What to run.
   *
   * @param sampling how the policy samples the pair (temperature 1 by default: diverse pairs)
   * @param reasoning how the feedback model writes chain-of-thought reasoning
   * @param askTimeout longest wait for one local model call, queueing included
   * @param remote how remote models are called
   */
  public record Config(ModelSpec policyModel, ModelSpec feedbackModel, List<PromptSource> sources, Constitution constitution,
      GenerationSettings sampling, GenerationSettings reasoning, LabelGraph.Settings graph, BatchingSettings batching,
      DeviceSetting device, Duration askTimeout, RemoteSettings remote) {}

  public static CompletionStage<LabelGraph.Summary> run(ActorSystem<?> system, RecordStore store, Config c,
      Consumer<LabelGraph.Summary> progress) {
    Map<RemoteModel, OpenAiClient> clients = new HashMap<>();
    Map<String, ClusterModel> workers = new HashMap<>(); // by cluster role
    ActorRef<ModelActor.Command<GenerateRequest, Completion>> policyActor = null;
    Responder policy;
    String policyId = c.policyModel().id();
    if (c.policyModel() instanceof ModelSpec.Remote r) {
      policy = new RemoteResponder(clients.computeIfAbsent(r.model(), m -> new OpenAiClient(m, c.remote())), c.sampling());
    } else if (c.policyModel() instanceof ModelSpec.Cluster cl) {
      ClusterModel m = workers.computeIfAbsent(cl.role(), role -> ClusterModel.connect(system, role));
      policy = m.responder(c.sampling());
      policyId = m.modelId();
    } else {
      policyActor = generationActor(system, "policy", ((ModelSpec.Local) c.policyModel()).path(), c);
      policy = new ActorResponder(policyActor, c.sampling(), c.askTimeout(), system);
    }
    OptionScorer scorer;
    Responder reasoner = null;
    ChatTemplate feedbackTemplate; // frames the questions
    String feedbackId = c.feedbackModel().id();
    if (c.feedbackModel() instanceof ModelSpec.Cluster cl) {
      ClusterModel m = workers.computeIfAbsent(cl.role(), role -> ClusterModel.connect(system, role));
      scorer = m.optionScorer();
      if (c.graph().chainOfThought()) {
        reasoner = m.responder(c.reasoning());
      }
      feedbackTemplate = m.chatTemplate();
      feedbackId = m.modelId();
    } else if (c.feedbackModel() instanceof ModelSpec.Remote r) {
      OpenAiClient client = clients.computeIfAbsent(r.model(), m -> new OpenAiClient(m, c.remote()));
      scorer = new RemoteOptionScorer(client);
      if (c.graph().chainOfThought()) {
        reasoner = new RemoteResponder(client, c.reasoning());
      }
      feedbackTemplate = r.model().chatTemplate();
    } else {
      Path path = ((ModelSpec.Local) c.feedbackModel()).path();
      ActorRef<ModelActor.Command<ScoreOptionsRequest, OptionScores>> feedback = system.systemActorOf(
          ModelActor.<ScoreOptionsRequest, OptionScores>create("feedback", () -> ModelLoading.feedback(path, c.device()),
              c.batching()), "feedback-" + System.nanoTime(), Props.empty());
      if (c.graph().chainOfThought()) {
        ActorRef<ModelActor.Command<GenerateRequest, Completion>> gen = c.feedbackModel().equals(c.policyModel())
            ? policyActor : generationActor(system, "feedback-reasoner", path, c);
        reasoner = new ActorResponder(gen, c.reasoning(), c.askTimeout(), system);
      }
      scorer = (context, a, b) -> AskPattern.askWithStatus(feedback,
          replyTo -> new ModelActor.Submit<>(new ScoreOptionsRequest(context, a, b), replyTo), c.askTimeout(),
          system.scheduler());
      feedbackTemplate = ModelFiles.chatTemplateOf(path);
    }
    LabelGraph.Models models = new LabelGraph.Models(policy, policyId, scorer, reasoner, feedbackTemplate, feedbackId);
    return LabelGraph.run(system, c.sources(), store, c.constitution(), models, c.graph(), progress);
  }

  private static ActorRef<ModelActor.Command<GenerateRequest, Completion>> generationActor(ActorSystem<?> system,
      String role, Path model, Config c) {
    return system.systemActorOf(ModelActor.<GenerateRequest, Completion>create(role,
        () -> ModelLoading.generation(model, c.device()), c.batching()), role + "-" + System.nanoTime(), Props.empty());
  }
}
