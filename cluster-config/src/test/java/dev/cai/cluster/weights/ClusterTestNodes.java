package dev.cai.cluster.weights;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import dev.cai.cluster.ClusterConfigs;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

/** In-JVM cluster nodes for tests: the real role configuration, Artery on 127.0.0.1 with a free port. */
final class ClusterTestNodes {
  private ClusterTestNodes() {}

  /** A node of {@code role} ("learner", "policy", ...) with {@code overrides} (HOCON) over its role file. */
  static ActorTestKit start(String role, String overrides) {
    Config roleFile = ConfigFactory.parseResources(ClusterConfigs.class.getClassLoader(),
        "dev/cai/cluster/" + role + ".conf", ConfigParseOptions.defaults().setAllowMissing(false));
    Config config = ConfigFactory.parseString("cai.cluster.port = 0\n" + overrides).withFallback(roleFile);
    return ActorTestKit.create(ClusterConfigs.SYSTEM_NAME, ConfigFactory.load(config));
  }

  /** Makes {@code node} join the cluster of {@code seed} (itself to found one) and waits until it is Up. */
  static void join(ActorTestKit node, ActorTestKit seed) {
    Cluster.get(node.system()).manager().tell(Join.create(Cluster.get(seed.system()).selfMember().address()));
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (Cluster.get(node.system()).selfMember().status() != MemberStatus.up()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(node.system().address() + " did not come Up within 20 s");
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
