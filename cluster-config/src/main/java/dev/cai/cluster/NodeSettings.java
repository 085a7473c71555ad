package dev.cai.cluster;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What starts one cluster node: its role, the seed nodes it joins, an optional user config file and
 * optional ports that override the configured ones (0 picks a free port).
 */
public record NodeSettings(ClusterRole role, List<HostPort> seeds, Optional<Path> userConfig,
    OptionalInt port, OptionalInt managementPort) {
  public NodeSettings {
    if (role == null) {
      throw new IllegalArgumentException("a node needs a role");
    }
    if (seeds == null || seeds.isEmpty()) {
      throw new IllegalArgumentException("a node needs at least one seed HOST:PORT (the first node may name itself)");
    }
    seeds = List.copyOf(seeds);
    if (userConfig.isPresent() && !Files.isRegularFile(userConfig.get())) {
      throw new IllegalArgumentException("config file " + userConfig.get() + " does not exist or is not a file");
    }
    port.ifPresent(p -> checkPort("--port", p));
    managementPort.ifPresent(p -> checkPort("--management-port", p));
  }

  private static void checkPort(String what, int p) {
    if (p < 0 || p > 65535) {
      throw new IllegalArgumentException(what + " " + p + " is out of range (0..65535, 0 = any free port)");
    }
  }
}
