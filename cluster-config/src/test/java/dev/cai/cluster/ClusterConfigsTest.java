package dev.cai.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterConfigsTest {
  private static NodeSettings settings(ClusterRole role, Optional<Path> user, OptionalInt port) {
    return new NodeSettings(role, List.of(HostPort.parse("127.0.0.1:25520"), HostPort.parse("localhost:25521")),
        user, port, OptionalInt.of(8600));
  }

  @Test
  void shouldGiveADriverTheClusterSettingsOverItsCommandsAndKeepTheCommandsCaiSettings() {
    // a command's own configuration: its batching and loglevel, and a local provider the cluster must replace
    Config command = com.typesafe.config.ConfigFactory.parseString(
        "cai.batching.max-batch-size = 7\npekko.actor.provider = local\ncai.cluster.port = 1")
        .withFallback(com.typesafe.config.ConfigFactory.load());
    Config driver = ClusterConfigs.driver(List.of(HostPort.parse("127.0.0.1:25520")), Optional.empty(), OptionalInt.of(0),
        command);
    assertEquals(List.of("driver"), driver.getStringList("pekko.cluster.roles"));
    assertEquals("cluster", driver.getString("pekko.actor.provider"));
    assertEquals(0, driver.getInt("pekko.remote.artery.canonical.port"));
    assertEquals(0, driver.getInt("cai.cluster.port"));
    assertEquals(List.of("pekko://cai@127.0.0.1:25520"), driver.getStringList("pekko.cluster.seed-nodes"));
    assertEquals(7, driver.getInt("cai.batching.max-batch-size"));
  }

  @Test
  void shouldGiveEachRoleItsRolesOnTopOfTheCommonClusterSettings() {
    assertEquals(List.of("policy"), ClusterConfigs.load(settings(ClusterRole.POLICY, Optional.empty(), OptionalInt.empty())).getStringList("pekko.cluster.roles"));
    assertEquals(List.of("feedback"), ClusterConfigs.load(settings(ClusterRole.FEEDBACK, Optional.empty(), OptionalInt.empty())).getStringList("pekko.cluster.roles"));
    assertEquals(List.of("learner"), ClusterConfigs.load(settings(ClusterRole.LEARNER, Optional.empty(), OptionalInt.empty())).getStringList("pekko.cluster.roles"));
    Config all = ClusterConfigs.load(settings(ClusterRole.ALL, Optional.empty(), OptionalInt.empty()));
    assertEquals(List.of("policy", "feedback", "learner"), all.getStringList("pekko.cluster.roles"));
    assertEquals("cluster", all.getString("pekko.actor.provider"));
    assertEquals("tcp", all.getString("pekko.remote.artery.transport"));
    assertEquals("127.0.0.1", all.getString("pekko.remote.artery.canonical.hostname"));
    assertEquals(25520, all.getInt("pekko.remote.artery.canonical.port"));
    assertEquals(false, all.getBoolean("pekko.actor.allow-java-serialization"));
    assertEquals("keep-majority", all.getString("pekko.cluster.split-brain-resolver.active-strategy"));
    assertEquals("org.apache.pekko.cluster.sbr.SplitBrainResolverProvider", all.getString("pekko.cluster.downing-provider-class"));
    assertEquals(8600, all.getInt("pekko.management.http.port"));
    assertEquals("127.0.0.1", all.getString("pekko.management.http.hostname"));
    assertEquals(List.of("pekko://cai@127.0.0.1:25520", "pekko://cai@localhost:25521"), all.getStringList("pekko.cluster.seed-nodes"));
  }

  @Test
  void shouldLetTheUserFileAndThenThePortOptionOverrideTheRoleFile(@TempDir Path dir) throws Exception {
    Path user = Files.writeString(dir.resolve("node.conf"), "cai.cluster.port = 26000\npekko.cluster.split-brain-resolver.stable-after = 30s\n");
    Config fromFile = ClusterConfigs.load(settings(ClusterRole.POLICY, Optional.of(user), OptionalInt.empty()));
    assertEquals(26000, fromFile.getInt("pekko.remote.artery.canonical.port"));
    assertEquals("30s", fromFile.getString("pekko.cluster.split-brain-resolver.stable-after"));
    Config fromOption = ClusterConfigs.load(settings(ClusterRole.POLICY, Optional.of(user), OptionalInt.of(26001)));
    assertEquals(26001, fromOption.getInt("pekko.remote.artery.canonical.port"));
  }

  @Test
  void shouldNameTheProblemOfBadInput(@TempDir Path dir) throws Exception {
    assertEquals("unknown role 'critic' (expected one of: policy, feedback, learner, all)",
        assertThrows(IllegalArgumentException.class, () -> ClusterRole.parse("critic")).getMessage());
    assertEquals("bad address '127.0.0.1' (expected HOST:PORT, e.g. 127.0.0.1:25520)",
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse("127.0.0.1")).getMessage());
    assertEquals("bad address 'host:abc': port 'abc' is not a number",
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse("host:abc")).getMessage());
    assertEquals("bad address 'host:70000': bad port 70000 for host host (expected 1..65535)",
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse("host:70000")).getMessage());
    Path missing = dir.resolve("nope.conf");
    assertEquals("config file " + missing + " does not exist or is not a file",
        assertThrows(IllegalArgumentException.class, () -> settings(ClusterRole.ALL, Optional.of(missing), OptionalInt.empty())).getMessage());
    Path broken = Files.writeString(dir.resolve("broken.conf"), "pekko { cluster = \n");
    String msg = assertThrows(IllegalArgumentException.class,
        () -> ClusterConfigs.load(settings(ClusterRole.ALL, Optional.of(broken), OptionalInt.empty()))).getMessage();
    assertTrue(msg.startsWith("config file " + broken + " is not valid HOCON"), msg);
  }
}
