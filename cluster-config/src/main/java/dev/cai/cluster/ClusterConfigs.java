package dev.cai.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/** Builds the configuration of a cluster node from its role file, the user's file and the command line. */
public final class ClusterConfigs {
  /** Name of every node's actor system: nodes join only systems of the same name. */
  public static final String SYSTEM_NAME = "cai";

  private ClusterConfigs() {}

  /**
   * The resolved configuration of a node: -D system properties, then the command-line settings, then the
   * user's file, then the role file (which includes {@code common.conf}), then the reference.conf defaults. With
   * {@code cai.cluster.tls.enabled} it opens the TLS stores first ({@link TlsSettings}: an error names the file and
   * the problem) and switches Artery to TLS.
   */
  public static Config load(NodeSettings s) {
    Config role = ConfigFactory.parseResources(ClusterConfigs.class.getClassLoader(), s.role().resource(),
        ConfigParseOptions.defaults().setAllowMissing(false));
    Config user = ConfigFactory.empty();
    if (s.userConfig().isPresent()) {
      try {
        user = ConfigFactory.parseFile(s.userConfig().get().toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
      } catch (ConfigException e) {
        throw new IllegalArgumentException("config file " + s.userConfig().get() + " is not valid HOCON: " + e.getMessage(), e);
      }
    }
    Config cli = ConfigFactory.parseMap(Map.of(
        "pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(
            s.seeds().stream().map(h -> h.pekkoAddress(SYSTEM_NAME)).toList())));
    if (s.port().isPresent()) {
      cli = cli.withValue("cai.cluster.port", ConfigValueFactory.fromAnyRef(s.port().getAsInt()));
    }
    if (s.managementPort().isPresent()) {
      cli = cli.withValue("cai.cluster.management-port", ConfigValueFactory.fromAnyRef(s.managementPort().getAsInt()));
    }
    Config merged = ConfigFactory.systemProperties().withFallback(cli).withFallback(user).withFallback(role);
    Config conf;
    try {
      conf = ConfigFactory.load(merged);
    } catch (ConfigException e) {
      throw new IllegalArgumentException("cluster configuration of role " + s.role().id() + " is invalid: " + e.getMessage(), e);
    }
    // building the settings opens the stores, so a bad one fails here, before any actor system starts
    return TlsSettings.from(conf).enabled()
        ? ConfigFactory.parseMap(Map.of("pekko.remote.artery.transport", "tls-tcp")).withFallback(conf)
        : conf;
  }

  /**
   * The configuration of a driver (a command that joins to use the workers and owns its run's store): the cluster
   * settings of role {@code driver} over {@code command}, the command's own configuration, whose {@code cai} settings
   * other than {@code cai.cluster} stay.
   */
  public static Config driver(List<HostPort> seeds, Optional<Path> userConfig, OptionalInt port, Config command) {
    Config cluster = load(new NodeSettings(ClusterRole.DRIVER, seeds, userConfig, port, OptionalInt.of(0)));
    return cluster.withOnlyPath("pekko").withFallback(cluster.withOnlyPath("cai.cluster")).withFallback(command).resolve();
  }
}
