package dev.cai.streams;

import dev.cai.actors.BatchingSettings;
import dev.cai.actors.Completion;
import dev.cai.actors.GenerateRequest;
import dev.cai.actors.ModelActor;
import dev.cai.actors.ModelLoading;
import dev.cai.persistence.RecordStore;
import dev.cai.runtime.constitution.Constitution;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.streams.remote.OpenAiClient;
import dev.cai.streams.remote.RemoteResponder;
import dev.cai.streams.remote.RemoteSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Source;

/**
 * One SL-CAI generation job: spawns the policy actor (and a separate critic actor when another critic model is
 * given), or talks to a remote server for a model given as {@code openai:...}, and runs {@link SlGraph} over the
 * prompt sources into the store. The actors live as long as {@code system}: terminating it stops them and closes
 * their models.
 */
public final class SlJob {
  private SlJob() {}

  /**
   * What to run.
   *
   * @param policyModel model that answers and revises
   * @param criticModel model that critiques; empty or equal to the policy model = the policy model (one actor or
   *     client serves both)
   * @param sampling sampling of every call (its seed is replaced per call)
   * @param askTimeout longest wait for one local model call, queueing included
   * @param remote how remote models are called
   */
  public record Config(ModelSpec policyModel, Optional<ModelSpec> criticModel, List<PromptSource> sources,
      Constitution constitution, GenerationSettings sampling, SlGraph.Settings graph, BatchingSettings batching,
      DeviceSetting device, Duration askTimeout, RemoteSettings remote) {}

  public static CompletionStage<SlGraph.Summary> run(ActorSystem<?> system, RecordStore store, Config c,
      Consumer<SlGraph.Summary> progress) {
    return SlGraph.run(system, c.sources(), store, c.constitution(), models(system, c), c.graph(), progress);
  }

  /**
   * Runs the graph over {@code prompts} (e.g. a {@link LivePrompts} feed) instead of {@code c.sources()}.
   *
   * @return the feed's materialized value and the totals once it completes
   */
  public static <M> Pair<M, CompletionStage<SlGraph.Summary>> run(ActorSystem<?> system, RecordStore store, Config c,
      Source<SourcedPrompt, M> prompts, Consumer<SlGraph.Summary> progress) {
    return SlGraph.run(system, prompts, store, c.constitution(), models(system, c), c.graph(), progress);
  }

  /** Spawns the model actors (or makes the remote clients) and wraps them as the graph's models. */
  private static SlGraph.Models models(ActorSystem<?> system, Config c) {
    Served policy = responder(system, "policy", c.policyModel(), c);
    ModelSpec criticModel = c.criticModel().orElse(c.policyModel());
    Served critic = criticModel.equals(c.policyModel()) ? policy : responder(system, "critic", criticModel, c);
    return new SlGraph.Models(policy.responder(), policy.modelId(), critic.responder(), critic.modelId());
  }

  /** A model's responder with the id recorded on what it produces. */
  private record Served(Responder responder, String modelId) {}

  private static Served responder(ActorSystem<?> system, String role, ModelSpec model, Config c) {
    if (model instanceof ModelSpec.Remote r) {
      return new Served(new RemoteResponder(new OpenAiClient(r.model(), c.remote()), c.sampling()), model.id());
    }
    if (model instanceof ModelSpec.Cluster cl) {
      ClusterModel workers = ClusterModel.connect(system, cl.role());
      return new Served(workers.responder(c.sampling()), workers.modelId());
    }
    Path path = ((ModelSpec.Local) model).path();
    ActorRef<ModelActor.Command<GenerateRequest, Completion>> actor = system.systemActorOf(
        ModelActor.<GenerateRequest, Completion>create(role, () -> ModelLoading.generation(path, c.device()), c.batching()),
        role + "-" + System.nanoTime(), Props.empty());
    return new Served(new ActorResponder(actor, c.sampling(), c.askTimeout(), system), model.id());
  }

}
