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
import java.util.function.Function;
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
      policyActor = generationActor(system, "policy", ((ModelSpec.Local) c.policyModel()).path(), c.batching(), c.device());
      policy = new ActorResponder(policyActor, c.sampling(), c.askTimeout(), system);
    }
    ActorRef<ModelActor.Command<GenerateRequest, Completion>> sharedPolicy = policyActor;
    Feedback f = feedback(system, c.feedbackModel(), c.graph().chainOfThought(), c.reasoning(), c.batching(), c.device(),
        c.askTimeout(), c.remote(), clients, workers, path -> c.feedbackModel().equals(c.policyModel())
            ? sharedPolicy : generationActor(system, "feedback-reasoner", path, c.batching(), c.device()));
    LabelGraph.Models models = new LabelGraph.Models(policy, policyId, f.scorer(), f.reasoner(), f.template(), f.modelId());
    return LabelGraph.run(system, c.sources(), store, c.constitution(), models, c.graph(), progress);
  }

  /** The feedback model's roles: the option scorer, the reasoner (chain-of-thought only, else null), its chat format. */
  public record Feedback(OptionScorer scorer, Responder reasoner, ChatTemplate template, String modelId) {}

  /**
   * The feedback model of {@code spec}: a batching actor of this process (a local path), the feedback workers of the
   * cluster, or a remote server; {@code clients} and {@code workers} share connections between a job's roles, and
   * {@code reasonerFor} gives the generation actor that reasons for a local model.
   */
  public static Feedback feedback(ActorSystem<?> system, ModelSpec spec, boolean chainOfThought,
      GenerationSettings reasoning, BatchingSettings batching, DeviceSetting device, Duration askTimeout,
      RemoteSettings remote, Map<RemoteModel, OpenAiClient> clients, Map<String, ClusterModel> workers,
      Function<Path, ActorRef<ModelActor.Command<GenerateRequest, Completion>>> reasonerFor) {
    if (spec instanceof ModelSpec.Cluster cl) {
      ClusterModel m = workers.computeIfAbsent(cl.role(), role -> ClusterModel.connect(system, role));
      return new Feedback(m.optionScorer(), chainOfThought ? m.responder(reasoning) : null, m.chatTemplate(), m.modelId());
    }
    if (spec instanceof ModelSpec.Remote r) {
      OpenAiClient client = clients.computeIfAbsent(r.model(), m -> new OpenAiClient(m, remote));
      return new Feedback(new RemoteOptionScorer(client), chainOfThought ? new RemoteResponder(client, reasoning) : null,
          r.model().chatTemplate(), spec.id());
    }
    Path path = ((ModelSpec.Local) spec).path();
    ActorRef<ModelActor.Command<ScoreOptionsRequest, OptionScores>> feedback = system.systemActorOf(
        ModelActor.<ScoreOptionsRequest, OptionScores>create("feedback", () -> ModelLoading.feedback(path, device),
            batching), "feedback-" + System.nanoTime(), Props.empty());
    Responder reasoner = chainOfThought
        ? new ActorResponder(reasonerFor.apply(path), reasoning, askTimeout, system) : null;
    OptionScorer scorer = (context, a, b) -> AskPattern.askWithStatus(feedback,
        replyTo -> new ModelActor.Submit<>(new ScoreOptionsRequest(context, a, b), replyTo), askTimeout,
        system.scheduler());
    return new Feedback(scorer, reasoner, ModelFiles.chatTemplateOf(path), spec.id());
  }

  /** A batching generation actor of this process serving the model at {@code model}. */
  static ActorRef<ModelActor.Command<GenerateRequest, Completion>> generationActor(ActorSystem<?> system, String role,
      Path model, BatchingSettings batching, DeviceSetting device) {
    return system.systemActorOf(ModelActor.<GenerateRequest, Completion>create(role,
        () -> ModelLoading.generation(model, device), batching), role + "-" + System.nanoTime(), Props.empty());
  }
}
