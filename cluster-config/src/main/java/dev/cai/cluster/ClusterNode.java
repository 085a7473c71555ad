package dev.cai.cluster;

import com.typesafe.config.Config;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.management.javadsl.PekkoManagement;

/**
 * A started cluster node: an actor system that joins its configured seed nodes, with Pekko Management
 * serving {@code /ready}, {@code /alive} and {@code /cluster/members}. Stopping it runs coordinated
 * shutdown, which leaves the cluster gracefully.
 */
public final class ClusterNode implements AutoCloseable {
  private final ActorSystem<Void> system;
  private final String managementUrl;

  private ClusterNode(ActorSystem<Void> system, String managementUrl) {
    this.system = system;
    this.managementUrl = managementUrl;
  }

  /** Starts the actor system described by {@code conf} (see {@link ClusterConfigs#load}) and its management endpoints. */
  public static ClusterNode start(Config conf) throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), ClusterConfigs.SYSTEM_NAME, conf);
    try {
      String url = PekkoManagement.get(system).start().toCompletableFuture().get(30, TimeUnit.SECONDS).toString();
      return new ClusterNode(system, url);
    } catch (Exception e) {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      throw new IllegalStateException("could not start Pekko Management on "
          + conf.getString("pekko.management.http.hostname") + ":" + conf.getInt("pekko.management.http.port")
          + ": " + e.getMessage(), e);
    }
  }

  public ActorSystem<Void> system() {
    return system;
  }

  /** This node's cluster address, e.g. {@code pekko://cai@127.0.0.1:25520}. */
  public String address() {
    return Cluster.get(system).selfMember().address().toString();
  }

  /** This node's cluster roles (without Pekko's data-center role). */
  public List<String> roles() {
    return Cluster.get(system).selfMember().getRoles().stream().filter(r -> !r.startsWith("dc-")).sorted().toList();
  }

  /** This node's own membership status as it sees it (Up, Leaving, Exiting, Removed, Down, ...). */
  public String memberStatus() {
    return Cluster.get(system).selfMember().status().toString();
  }

  /** Base URL of the management endpoints, e.g. {@code http://127.0.0.1:8558}. */
  public String managementUrl() {
    return managementUrl;
  }

  /** Blocks until the actor system has terminated (coordinated shutdown, or downed by the Split Brain Resolver). */
  public void awaitTermination() throws Exception {
    system.getWhenTerminated().toCompletableFuture().get();
  }

  /** Leaves the cluster and terminates the actor system (coordinated shutdown). */
  @Override
  public void close() throws Exception {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }
}
