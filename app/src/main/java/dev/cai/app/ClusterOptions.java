package dev.cai.app;

import com.typesafe.config.Config;
import dev.cai.cluster.ClusterConfigs;
import dev.cai.cluster.HostPort;
import dev.cai.streams.ModelSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * Options that make a command the driver of a cai cluster: its actor system joins the cluster (role driver; it owns
 * the run's store), and its {@code cluster:ROLE} models route their calls to the workers of that role.
 */
final class ClusterOptions {
  @Option(names = "--cluster-seed", paramLabel = "HOST:PORT",
      description = "Join the cai cluster of this seed node (repeatable) as its driver; needed by --model cluster:policy, "
          + "--feedback-model cluster:feedback (the workers started with cai node).")
  List<String> seeds;

  @Option(names = "--cluster-port", paramLabel = "N", defaultValue = "0",
      description = "Cluster (Artery TCP) port of this driver (default: ${DEFAULT-VALUE}, a free port).")
  int port;

  @Option(names = "--cluster-config", paramLabel = "FILE", description = "HOCON file layered over the cluster configuration.")
  Path config;

  /**
   * {@code conf} with the cluster layers of a driver when {@code --cluster-seed} is given, else {@code conf}; a
   * {@code cluster:} model without {@code --cluster-seed} (or the reverse) is a usage error.
   */
  Config apply(Config conf, CommandLine cmd, List<ModelSpec> models) {
    boolean clusterModel = models.stream().anyMatch(m -> m instanceof ModelSpec.Cluster);
    boolean joins = seeds != null && !seeds.isEmpty();
    if (clusterModel && !joins) {
      throw new CommandLine.ParameterException(cmd, "a " + ModelSpec.Cluster.SCHEME + "ROLE model runs on the workers of a "
          + "cluster: give --cluster-seed HOST:PORT (a node started with cai node)");
    }
    if (!joins) {
      return conf;
    }
    if (!clusterModel) {
      throw new CommandLine.ParameterException(cmd, "--cluster-seed joins a cluster to use its workers: name them with "
          + "--model cluster:policy (and --feedback-model cluster:feedback for cai label)");
    }
    try {
      return ClusterConfigs.driver(seeds.stream().map(HostPort::parse).toList(), Optional.ofNullable(config),
          OptionalInt.of(port), conf);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cmd, e.getMessage(), e);
    }
  }
}
