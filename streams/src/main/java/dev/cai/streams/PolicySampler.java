package dev.cai.streams;

import dev.cai.actors.BatchModel.Outcome;
import dev.cai.actors.PolicyActor;
import dev.cai.actors.PolicySample;
import dev.cai.runtime.constitution.Transcript;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * Samples the responses of a PPO rollout batch: one per conversation by policy {@code version}, sequence i drawn
 * from {@code seeds[i]}, outcomes in conversation order (a too-long prompt fails alone). In one process it asks the
 * local policy actors; in a cluster the policy workers ({@link ClusterModel#rolloutSampler}).
 */
@FunctionalInterface
public interface PolicySampler {
  CompletionStage<List<Outcome<PolicySample>>> sample(List<Transcript> conversations, long[] seeds, long version);

  /** Asks the local {@code policies}: the batch is cut into contiguous chunks, one per actor. */
  static PolicySampler of(ActorSystem<?> system, List<ActorRef<PolicyActor.Command>> policies, Duration askTimeout) {
    if (policies.isEmpty()) {
      throw new IllegalArgumentException("the rollout graph needs at least one policy actor");
    }
    List<ActorRef<PolicyActor.Command>> actors = List.copyOf(policies);
    return (conversations, seeds, version) -> {
      int per = (conversations.size() + actors.size() - 1) / Math.max(1, actors.size());
      return inChunks(conversations, seeds, Math.max(1, per), (index, chunk, chunkSeeds) -> {
        ActorRef<PolicyActor.Command> policy = actors.get(index);
        return AskPattern.<PolicyActor.Command, PolicyActor.RolloutsGenerated>askWithStatus(policy,
            replyTo -> new PolicyActor.GenerateRollouts(chunk, chunkSeeds, version, replyTo), askTimeout,
            system.scheduler()).thenApply(r -> {
              if (r.version() != version || r.samples().size() != chunk.size()) {
                throw new IllegalStateException("policy answered " + r.samples().size() + " of " + chunk.size()
                    + " prompts with version " + r.version() + " instead of " + version);
              }
              return r.samples();
            });
      });
    };
  }

  /** Samples chunk {@code index} (0, 1, ...) of a batch: its conversations and their seeds. */
  @FunctionalInterface
  interface ChunkSampler {
    CompletionStage<List<Outcome<PolicySample>>> sample(int index, List<Transcript> chunk, long[] seeds);
  }

  /** Cuts the batch into contiguous chunks of at most {@code size}, samples them concurrently, joins in order. */
  static CompletionStage<List<Outcome<PolicySample>>> inChunks(List<Transcript> conversations, long[] seeds, int size,
      ChunkSampler sampler) {
    if (conversations.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    List<CompletableFuture<List<Outcome<PolicySample>>>> parts = new ArrayList<>();
    for (int from = 0; from < conversations.size(); from += size) {
      int to = Math.min(conversations.size(), from + size);
      parts.add(sampler.sample(parts.size(), conversations.subList(from, to), Arrays.copyOfRange(seeds, from, to))
          .toCompletableFuture());
    }
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenApply(x -> parts.stream()
        .map(CompletableFuture::join).flatMap(List::stream).toList());
  }
}
