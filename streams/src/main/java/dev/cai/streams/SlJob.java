package dev.cai.streams;

import dev.cai.actors.BatchingSettings;
import dev.cai.actors.Completion;
import dev.cai.actors.GenerateRequest;
import dev.cai.actors.ModelActor;
import dev.cai.actors.ModelLoading;
import dev.cai.persistence.RecordStore;
import dev.cai.runtime.constitution.Constitution;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.DeviceSetting;
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
 * One SL-CAI generation job: spawns the policy actor (and a separate critic actor when a critic model is
 * given) and runs {@link SlGraph} over the prompt sources into the store. The actors live as long as
 * {@code system}: terminating it stops them and closes their models.
 */
public final class SlJob {
  private SlJob() {}

  /**
   * What to run.
   *
   * @param policyModel model that answers and revises
   * @param criticModel model that critiques; empty = the policy model (one actor serves both)
   * @param sampling sampling of every call (its seed is replaced per call)
   * @param askTimeout longest wait for one model call, queueing included
   */
  public record Config(Path policyModel, Optional<Path> criticModel, List<PromptSource> sources, Constitution constitution,
      GenerationSettings sampling, SlGraph.Settings graph, BatchingSettings batching, DeviceSetting device,
      Duration askTimeout) {}

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

  /** Spawns the model actors and wraps them as the graph's models. */
  private static SlGraph.Models models(ActorSystem<?> system, Config c) {
    ActorRef<ModelActor.Command<GenerateRequest, Completion>> policy = spawn(system, "policy", c.policyModel(), c);
    ActorRef<ModelActor.Command<GenerateRequest, Completion>> critic = c.criticModel()
        .map(p -> spawn(system, "critic", p, c)).orElse(policy);
    String policyId = ModelFiles.modelId(c.policyModel());
    return new SlGraph.Models(
        new ActorResponder(policy, c.sampling(), c.askTimeout(), system), policyId,
        new ActorResponder(critic, c.sampling(), c.askTimeout(), system), c.criticModel().map(ModelFiles::modelId).orElse(policyId));
  }

  private static ActorRef<ModelActor.Command<GenerateRequest, Completion>> spawn(ActorSystem<?> system, String role,
      Path model, Config c) {
    return system.systemActorOf(ModelActor.<GenerateRequest, Completion>create(role,
        () -> ModelLoading.generation(model, c.device()), c.batching()), role + "-" + System.nanoTime(), Props.empty());
  }


}
