package dev.cai.streams;

import dev.cai.persistence.RecordStore;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Child-JVM entry of {@link RlResumeIT}: runs an RL job on tiny models (lag 1, batches of 3, commit every 2 updates),
 * printing "committed V" after each learner commit and "done V replayed R" at the end; with a sixth argument
 * "continual", continual RLAIF refreshes the PM every 2 batches on 2 labeled pairs.
 */
public final class RlJobMain {
  private RlJobMain() {}

  public static void main(String[] args) throws Exception {
    Path runDir = Path.of(args[0]);
    Path policy = Path.of(args[1]);
    Path pm = Path.of(args[2]);
    Path prompts = Path.of(args[3]);
    long updates = Long.parseLong(args[4]);
    boolean continual = args.length > 5 && args[5].equals("continual");
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "rl-child");
    try (RecordStore store = RecordStore.open(runDir.resolve("store"))) {
      RlJob.Config job = TinyRl.job(runDir, policy, pm, prompts, TinyRl.rl(3, 1, 2), updates, Optional.empty());
      RlJob.Summary s = RlJob.run(system, store, continual ? job.withContinual(TinyRl.continual(runDir, policy, 2, 2)) : job,
          p -> p.learned().commit().ifPresent(c -> System.out.println("committed " + c.version())))
          .toCompletableFuture().get(5, TimeUnit.MINUTES);
      System.out.println("done " + s.version() + " replayed " + s.replayedBatches());
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }
}
