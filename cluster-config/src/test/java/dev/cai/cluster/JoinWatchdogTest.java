package dev.cai.cluster;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class JoinWatchdogTest {
  private static final List<HostPort> SEEDS = List.of(HostPort.parse("10.0.0.1:25520"));
  private static final String ADDRESS = "pekko://cai@10.0.0.2:25520";

  @Test
  void shouldNameTheNodeTheWaitAndTheSeeds() {
    for (boolean tls : List.of(true, false)) {
      String msg = JoinWatchdog.message(ADDRESS, Duration.ofSeconds(30), SEEDS, tls);
      assertTrue(msg.startsWith("node " + ADDRESS + " is not an Up cluster member 30 s after start"), msg);
      assertTrue(msg.contains("10.0.0.1:25520"), msg);
    }
  }

  @Test
  void shouldPointAtTheCertificatesFirstWhenTlsIsOn() {
    String msg = JoinWatchdog.message(ADDRESS, Duration.ofSeconds(30), SEEDS, true);
    assertTrue(msg.contains("TLS"), msg);
    assertTrue(msg.contains("certificate"), msg);
    assertTrue(msg.indexOf("certificate") < msg.indexOf("seed node runs"), "certificates first, then the seeds: " + msg);
  }

  @Test
  void shouldPointAtTheSeedsAndNotAtCertificatesWhenTlsIsOff() {
    String msg = JoinWatchdog.message(ADDRESS, Duration.ofSeconds(5), SEEDS, false);
    assertFalse(msg.contains("TLS"), msg);
    assertFalse(msg.contains("certificate"), msg);
    assertTrue(msg.contains("check that a seed node runs"), msg);
  }
}
