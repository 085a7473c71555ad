package dev.cai.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class JoinWatchdogTest {
  private static final List<HostPort> SEEDS = List.of(HostPort.parse("10.0.0.1:25520"));

  @Test
  void shouldPointAtTheCertificatesFirstWhenTlsIsOn() {
    assertEquals("node pekko://cai@10.0.0.2:25520 is not an Up cluster member 30 s after start (seeds [10.0.0.1:25520]): "
        + "TLS is on, and the usual cause is a certificate the cluster does not trust (this node's certificate is not "
        + "signed by the CA in the others' trust store, or theirs by the CA in this node's), see the SSLHandshakeException "
        + "lines; otherwise check that a seed node runs and that its HOST:PORT is reachable from here (and this node's "
        + "cai.cluster.hostname from there)",
        JoinWatchdog.message("pekko://cai@10.0.0.2:25520", Duration.ofSeconds(30), SEEDS, true));
  }

  @Test
  void shouldPointAtTheSeedsWhenTlsIsOff() {
    assertEquals("node pekko://cai@10.0.0.2:25520 is not an Up cluster member 5 s after start (seeds [10.0.0.1:25520]): "
        + "check that a seed node runs and that its HOST:PORT is reachable from here (and this node's "
        + "cai.cluster.hostname from there)",
        JoinWatchdog.message("pekko://cai@10.0.0.2:25520", Duration.ofSeconds(5), SEEDS, false));
  }
}
