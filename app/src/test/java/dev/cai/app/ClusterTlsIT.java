package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.app.ClusterProcesses.Proc;
import dev.cai.cluster.HostPort;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Artery TLS with mutual authentication between forked {@code cai node} JVMs, with certificates made at test time by
 * cluster-config/deploy/tls/gen-certs.sh (the JDK's keytool): two nodes whose certificates the cluster CA signed form
 * a cluster; a third whose certificate another CA signed never becomes a member, and the logs say why.
 */
class ClusterTlsIT {
  private static final Map<String, String> PASSWORDS = Map.of(
      "CAI_TLS_CA_PASSWORD", "ca-it-secret", "CAI_TLS_KEY_STORE_PASSWORD", "node-it-secret",
      "CAI_TLS_TRUST_STORE_PASSWORD", "trust-it-secret");
  /** cai.cluster.join-warning-after of every node: when the refused node explains itself. */
  private static final int WATCHDOG_SECONDS = 10;

  /** Runs gen-certs.sh: a CA in {@code dir} and a key store per node name, signed by it. */
  static void generateCertificates(Path dir, String... names) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("bash", Path.of("..", "cluster-config", "deploy", "tls", "gen-certs.sh").toString(),
        dir.toString()));
    cmd.addAll(List.of(names));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().putAll(PASSWORDS);
    pb.environment().put("KEYTOOL", Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), out);
    assertEquals(0, p.exitValue(), out);
  }

  private static Path tlsConfig(Path dir, String name, Path keyStore, Path trustStore) throws IOException {
    return Files.writeString(dir.resolve(name + ".conf"), "cai.cluster.tls {\n  enabled = on\n  key-store = \"" + keyStore
        + "\"\n  trust-store = \"" + trustStore + "\"\n}\ncai.cluster.join-warning-after = " + WATCHDOG_SECONDS + "s\n");
  }

  /** A learner-role node (no model to load) with TLS settings {@code conf}. */
  private static Proc start(ClusterProcesses cluster, String name, int port, int management, String seed, Path conf)
      throws IOException {
    // passwords reach the node only through the environment (common.conf reads CAI_TLS_*_PASSWORD)
    return cluster.node(name, "learner", port, management, seed,
        Map.of("CAI_TLS_KEY_STORE_PASSWORD", PASSWORDS.get("CAI_TLS_KEY_STORE_PASSWORD"),
            "CAI_TLS_TRUST_STORE_PASSWORD", PASSWORDS.get("CAI_TLS_TRUST_STORE_PASSWORD")),
        List.of(), "--config", conf.toString());
  }

  @Test
  void shouldFormOverTlsAndRefuseANodeWhoseCertificateAnotherCaSigned(@TempDir Path dir) throws Exception {
    Path cluster = dir.resolve("cluster-ca");
    Path other = dir.resolve("other-ca");
    long t0 = System.nanoTime();
    generateCertificates(cluster, "node-a", "node-b");
    System.out.printf("tls: a CA and 2 node certificates made by gen-certs.sh (keytool) in %.1f s%n",
        (System.nanoTime() - t0) / 1e9);
    generateCertificates(other, "node-c");
    try (ClusterProcesses nodes = new ClusterProcesses(dir)) {
      run(nodes, dir, cluster, other);
    }
  }

  private static void run(ClusterProcesses nodes, Path dir, Path cluster, Path other) throws Exception {
    int[] ports = HostPort.freeLocalPorts(6);
    String seed = "127.0.0.1:" + ports[0];
    Path trust = cluster.resolve("truststore.p12");
    Proc a = start(nodes, "a", ports[0], ports[1], seed, tlsConfig(dir, "a", cluster.resolve("node-a.p12"), trust));
    Proc b = start(nodes, "b", ports[2], ports[3], seed, tlsConfig(dir, "b", cluster.resolve("node-b.p12"), trust));
    // c trusts the cluster's CA but its own certificate is signed by another CA: the cluster refuses it
    Proc c = start(nodes, "c", ports[4], ports[5], seed, tlsConfig(dir, "c", other.resolve("node-c.p12"), trust));
    long t0 = System.nanoTime();
    Map<String, String> two = Map.of(a.address(), "learner", b.address(), "learner");
    nodes.awaitMembers(a, two);
    nodes.awaitMembers(b, two);
    long t1 = System.nanoTime();

    String notUp = "node " + c.address() + " is not an Up cluster member " + WATCHDOG_SECONDS + " s after start";
    nodes.awaitLog(c, notUp);
    assertTrue(c.stderrText().contains(notUp + " (seeds ["
        + seed + "]): TLS is on, and the usual cause is a certificate the cluster does not trust"), c.logs());
    // the seed refused c's certificate during the handshake and says so, naming it; c sees the TLS alert
    nodes.awaitLog(a, "cai TLS: refused a cluster connection from a node whose certificate (CN=node-c, issued by CN=cai cluster CA ");
    assertTrue(a.stderrText().contains(") is not trusted by the trust store " + trust + " (cai.cluster.tls.trust-store): "
        + "PKIX path building failed"), a.logs());
    assertTrue(c.stderrText().contains("SSLHandshakeException: Received fatal alert: certificate_unknown"), c.logs());
    assertFalse(b.stderrText().contains("cai TLS: refused"), b.logs());
    nodes.awaitMembers(a, two); // still exactly a and b
    assertNotEquals(200, nodes.get(c, "/ready").statusCode(), c.logs()); // not ready: not an Up member
    String members = nodes.get(a, "/cluster/members").body();
    assertFalse(members.contains(c.address()), members);
    System.out.printf("tls: 2 members Up %.1f s after start; node with a foreign certificate refused (%d s watchdog)%n",
        (t1 - t0) / 1e9, WATCHDOG_SECONDS);
  }
}
