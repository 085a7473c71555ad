package dev.cai.cluster;

import dev.cai.actors.BatchingSettings;
import dev.cai.actors.Completion;
import dev.cai.actors.GenerateRequest;
import dev.cai.actors.ModelActor;
import dev.cai.actors.ModelLoading;
import dev.cai.actors.OptionScores;
import dev.cai.actors.PolicyActor;
import dev.cai.actors.PublishedPolicy;
import dev.cai.actors.ScoreOptionsRequest;
import dev.cai.actors.work.ModelWorker;
import dev.cai.protocol.v1.WorkRequest;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.DeviceSetting;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;

/**
 * Starts the model workers of a node's role: a {@code policy} node serves generation, a {@code feedback} node serves
 * answer-option scoring and generation (chain-of-thought reasoning) with its model, {@code all} both; each worker
 * owns its model actors and registers with the Receptionist so that drivers ({@code --model cluster:ROLE}) find it.
 */
public final class ModelWorkers {
  private ModelWorkers() {}

  /**
   * What the workers serve.
   *
   * @param model GGUF file or model directory loaded by every worker of this node
   * @param askTimeout longest wait for one local model call, queueing included
   * @param rollouts also serve PPO rollouts (policy workers): a policy actor with these settings, at version 0 the
   *     model, later the versions the learner ships
   */
  public record Settings(Path model, DeviceSetting device, BatchingSettings batching, Duration askTimeout,
      Optional<PolicyActor.Settings> rollouts) {
    public Settings {
      if (!Files.exists(model)) {
        throw new IllegalArgumentException("model " + model + " does not exist (a GGUF file or a model directory)");
      }
    }
  }

  /**
   * The started workers.
   *
   * @param policy the policy actor that serves rollouts, if the node serves them
   * @param published the policy versions this node serves (the weight replica publishes shipped versions here)
   */
  public record Started(List<ActorRef<WorkRequest>> workers, Optional<ActorRef<PolicyActor.Command>> policy,
      PublishedPolicy published) {}

  /** The worker roles of a node role: policy → [policy], feedback → [feedback], all → both, learner and driver → none. */
  public static List<String> workerRoles(ClusterRole role) {
    return switch (role) {
      case POLICY -> List.of("policy");
      case FEEDBACK -> List.of("feedback");
      case ALL -> List.of("policy", "feedback");
      case LEARNER, DRIVER -> List.of();
    };
  }

  /** Spawns the workers of {@code role} (one generation actor shared between them). */
  public static Started start(ActorSystem<?> system, ClusterRole role, Settings s) {
    List<String> roles = workerRoles(role);
    List<ActorRef<WorkRequest>> workers = new ArrayList<>();
    PublishedPolicy published = new PublishedPolicy(0);
    if (roles.isEmpty()) {
      return new Started(workers, Optional.empty(), published);
    }
    String modelId = ModelFiles.modelId(s.model());
    String template = ModelFiles.chatTemplateOf(s.model()).toJinja();
    ActorRef<ModelActor.Command<GenerateRequest, Completion>> generator = system.systemActorOf(
        ModelActor.<GenerateRequest, Completion>create("generation", () -> ModelLoading.generation(s.model(), s.device()),
            s.batching()), "generation", Props.empty());
    Optional<ActorRef<PolicyActor.Command>> policy = Optional.empty();
    for (String r : roles) {
      Optional<ActorRef<ModelActor.Command<ScoreOptionsRequest, OptionScores>>> scorer = Optional.empty();
      Optional<ModelWorker.Rollouts> rollouts = Optional.empty();
      if (r.equals("feedback")) {
        scorer = Optional.of(system.systemActorOf(ModelActor.<ScoreOptionsRequest, OptionScores>create("feedback",
            () -> ModelLoading.feedback(s.model(), s.device()), s.batching()), "feedback", Props.empty()));
      } else if (s.rollouts().isPresent()) {
        policy = Optional.of(system.systemActorOf(PolicyActor.create("policy",
            () -> ModelLoading.policy(s.model(), s.device()), published, s.rollouts().get()), "policy", Props.empty()));
        rollouts = Optional.of(new ModelWorker.Rollouts(policy.get(), s.rollouts().get().sampling()));
      }
      workers.add(system.systemActorOf(ModelWorker.create(r, new ModelWorker.Models(Optional.of(generator), scorer,
          rollouts), modelId, template, s.askTimeout()), "worker-" + r, Props.empty()));
    }
    return new Started(workers, policy, published);
  }
}
