package dev.cai.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS settings against stores made at test time by deploy/tls/gen-certs.sh (the JDK's keytool); none is committed. */
class TlsSettingsTest {
  private static final String KEY_PASS = "node-secret";
  private static final String TRUST_PASS = "trust-secret";
  private static final String CA_PASS = "ca-secret";

  @TempDir static Path certs;

  @BeforeAll
  static void makeCertificates() throws Exception {
    ProcessBuilder pb = new ProcessBuilder("bash", Path.of("deploy", "tls", "gen-certs.sh").toString(),
        certs.toString(), "node-a").redirectErrorStream(true);
    pb.environment().putAll(Map.of("KEYTOOL", Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "CAI_TLS_CA_PASSWORD", CA_PASS, "CAI_TLS_KEY_STORE_PASSWORD", KEY_PASS, "CAI_TLS_TRUST_STORE_PASSWORD", TRUST_PASS));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
  }

  private static Config load(Path dir, String tls) throws Exception {
    Path user = Files.writeString(dir.resolve("node.conf"), "cai.cluster.tls {\n" + tls + "\n}\n");
    return ClusterConfigs.load(new NodeSettings(ClusterRole.POLICY, List.of(HostPort.parse("127.0.0.1:25520")),
        Optional.of(user), OptionalInt.empty(), OptionalInt.empty()));
  }

  private static String tls(Path keyStore, String keyPass, Path trustStore, String trustPass) {
    return "enabled = on\nkey-store = \"" + keyStore + "\"\ntrust-store = \"" + trustStore + "\"\n"
        + (keyPass == null ? "" : "key-store-password = \"" + keyPass + "\"\n")
        + (trustPass == null ? "" : "trust-store-password = \"" + trustPass + "\"\n");
  }

  private static String refusal(Path dir, String tls) {
    return assertThrows(IllegalArgumentException.class, () -> load(dir, tls)).getMessage();
  }

  @Test
  void shouldKeepPlainTcpWhenTlsIsOff(@TempDir Path dir) throws Exception {
    Config conf = load(dir, "");
    assertFalse(TlsSettings.from(conf).enabled());
    assertEquals("tcp", conf.getString("pekko.remote.artery.transport"));
  }

  @Test
  void shouldSwitchArteryToTlsWithMutualAuthenticationOnTheGivenStores(@TempDir Path dir) throws Exception {
    Config conf = load(dir, tls(certs.resolve("node-a.p12"), KEY_PASS, certs.resolve("truststore.p12"), TRUST_PASS));
    assertEquals("tls-tcp", conf.getString("pekko.remote.artery.transport"));
    Config ssl = conf.getConfig("pekko.remote.artery.ssl.config-ssl-engine");
    assertEquals(certs.resolve("node-a.p12").toString(), ssl.getString("key-store"));
    assertEquals(KEY_PASS, ssl.getString("key-store-password"));
    assertEquals(KEY_PASS, ssl.getString("key-password"));
    assertEquals(certs.resolve("truststore.p12").toString(), ssl.getString("trust-store"));
    assertEquals(TRUST_PASS, ssl.getString("trust-store-password"));
    assertTrue(ssl.getBoolean("require-mutual-authentication"));
    assertEquals(CaiSslEngineProvider.class.getName(),
        conf.getString("pekko.remote.artery.ssl.ssl-engine-provider"));
    TlsSettings s = TlsSettings.from(conf);
    assertFalse(s.toString().contains(KEY_PASS) || s.toString().contains(TRUST_PASS), s.toString());
  }

  @Test
  void shouldNameTheMissingSettingAndItsEnvironmentVariable(@TempDir Path dir) {
    assertEquals("TLS is enabled (cai.cluster.tls.enabled = on) but cai.cluster.tls.key-store-password is not set: "
        + "export CAI_TLS_KEY_STORE_PASSWORD (or set it in the node's --config file, never in the repository)",
        refusal(dir, tls(certs.resolve("node-a.p12"), null, certs.resolve("truststore.p12"), TRUST_PASS)));
    assertEquals("TLS is enabled (cai.cluster.tls.enabled = on) but cai.cluster.tls.trust-store-password is not set: "
        + "export CAI_TLS_TRUST_STORE_PASSWORD (or set it in the node's --config file, never in the repository)",
        refusal(dir, tls(certs.resolve("node-a.p12"), KEY_PASS, certs.resolve("truststore.p12"), null)));
    assertEquals("TLS is enabled (cai.cluster.tls.enabled = on) but cai.cluster.tls.key-store is not set: "
        + "give the path of this node's key store (its private key and certificate)",
        refusal(dir, "enabled = on\nkey-store-password = x\ntrust-store-password = y"));
  }

  @Test
  void shouldNameTheStoreFileAndItsProblem(@TempDir Path dir) throws Exception {
    Path missing = dir.resolve("nope.p12");
    assertEquals("TLS key store " + missing + " (cai.cluster.tls.key-store) does not exist or is not a file",
        refusal(dir, tls(missing, KEY_PASS, certs.resolve("truststore.p12"), TRUST_PASS)));
    assertEquals("TLS trust store " + missing + " (cai.cluster.tls.trust-store) does not exist or is not a file",
        refusal(dir, tls(certs.resolve("node-a.p12"), KEY_PASS, missing, TRUST_PASS)));
    assertEquals("TLS key store " + certs.resolve("node-a.p12") + ": wrong password (cai.cluster.tls.key-store-password)",
        refusal(dir, tls(certs.resolve("node-a.p12"), "guess", certs.resolve("truststore.p12"), TRUST_PASS)));
    assertEquals("TLS trust store " + certs.resolve("truststore.p12") + ": wrong password (cai.cluster.tls.trust-store-password)",
        refusal(dir, tls(certs.resolve("node-a.p12"), KEY_PASS, certs.resolve("truststore.p12"), KEY_PASS)));
    Path garbage = Files.writeString(dir.resolve("garbage.p12"), "not a key store\n");
    String msg = refusal(dir, tls(garbage, KEY_PASS, certs.resolve("truststore.p12"), TRUST_PASS));
    assertTrue(msg.startsWith("TLS key store " + garbage + " is not a PKCS12 or JKS store: "), msg);
    assertEquals("TLS key store " + certs.resolve("truststore.p12") + " holds no private key (it needs this node's key and "
        + "its certificate signed by the cluster CA, e.g. from keytool -genkeypair and -importcert)",
        refusal(dir, tls(certs.resolve("truststore.p12"), TRUST_PASS, certs.resolve("truststore.p12"), TRUST_PASS)));
    assertEquals("TLS trust store " + certs.resolve("ca.p12") + " holds no trusted certificate (it needs the cluster CA's "
        + "certificate, e.g. from keytool -importcert -trustcacerts)",
        refusal(dir, tls(certs.resolve("node-a.p12"), KEY_PASS, certs.resolve("ca.p12"), CA_PASS)));
  }
}
