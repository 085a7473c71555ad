package dev.cai.cluster;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** The role a cai cluster node plays; each has its HOCON file {@code dev/cai/cluster/<name>.conf}. */
public enum ClusterRole {
  POLICY, FEEDBACK, LEARNER, ALL,
  /**
   * A command that joins a cluster to use its workers and owns its run's store ({@code sl generate}, {@code label},
   * {@code rl train} with {@code cluster:} models); not a role of {@code cai node}.
   */
  DRIVER;

  /** The roles {@code cai node} takes. */
  public static List<ClusterRole> nodeRoles() {
    return List.of(POLICY, FEEDBACK, LEARNER, ALL);
  }

  /** Lower-case name used on the command line and in the resource name. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Classpath resource holding this role's configuration. */
  public String resource() {
    return "dev/cai/cluster/" + id() + ".conf";
  }

  /** The node role named {@code s} (case-insensitive), or a clear error listing the valid ones. */
  public static ClusterRole parse(String s) {
    for (ClusterRole r : nodeRoles()) {
      if (r.id().equalsIgnoreCase(s == null ? "" : s.trim())) {
        return r;
      }
    }
    throw new IllegalArgumentException("unknown role '" + s + "' (expected one of: "
        + nodeRoles().stream().map(ClusterRole::id).collect(Collectors.joining(", ")) + ")");
  }
}
