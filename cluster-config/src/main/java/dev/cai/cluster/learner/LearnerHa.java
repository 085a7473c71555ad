package dev.cai.cluster.learner;

import dev.cai.cluster.ClusterRole;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.ClusterSingletonSettings;
import org.apache.pekko.cluster.typed.SingletonActor;

/**
 * Starts learner failover on a {@code learner} node: its {@link CheckpointReceiver} (a standby for shipped
 * checkpoints in {@code DIR/shipped}) and its share of the {@link LearnerSingleton}, which Pekko runs on the oldest
 * {@code learner} member and moves to the next oldest when that member is downed or leaves.
 */
public final class LearnerHa {
  /** Name of the singleton (one per cluster). */
  public static final String SINGLETON = "cai-rl-learner";
  /** Directory of received checkpoints inside the node-local directory. */
  public static final String SHIPPED = "shipped";

  private LearnerHa() {}

  /**
   * Starts the receiver and initializes the singleton on {@code system}, whose node must have the learner role;
   * {@code events} gets one line per notable event (installed/shipped checkpoints, resume point, updates, done).
   */
  public static void start(ActorSystem<?> system, LearnerJob job, LearnerHaSettings settings, Consumer<String> events) {
    String role = ClusterRole.LEARNER.id();
    if (!Cluster.get(system).selfMember().hasRole(role)) {
      throw new IllegalArgumentException("an RL job runs on a node with the " + role + " role (or all), not on one with "
          + Cluster.get(system).selfMember().getRoles());
    }
    job.checkShipEvery(settings);
    ShippedCheckpoints shipped = new ShippedCheckpoints(settings.dir().resolve(SHIPPED));
    system.systemActorOf(CheckpointReceiver.create(shipped, settings.keep(), events), "learner-checkpoints",
        DispatcherSelector.blocking());
    ClusterSingleton.get(system).init(SingletonActor.of(Behaviors.supervise(
            LearnerSingleton.create(job, settings, shipped, events)).onFailure(SupervisorStrategy.stop()), SINGLETON)
        .withSettings(ClusterSingletonSettings.create(system).withRole(role))
        .withProps(Props.empty()));
  }
}
