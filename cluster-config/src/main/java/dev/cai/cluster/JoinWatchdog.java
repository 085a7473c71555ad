package dev.cai.cluster;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.Cluster;

/**
 * Explains a node that is still not an Up member {@code cai.cluster.join-warning-after} after it started: Pekko's own
 * lines (a refused TLS handshake, "Couldn't join seed nodes") do not say what to fix, this one line does.
 */
public final class JoinWatchdog {
  private JoinWatchdog() {}

  /** Schedules the check on {@code node}'s actor system; {@code out} receives the one line if the node is not Up in time. */
  public static void start(ClusterNode node, Config conf, List<HostPort> seeds, Consumer<String> out) {
    Duration after = conf.getDuration("cai.cluster.join-warning-after");
    boolean tls = conf.getBoolean("cai.cluster.tls.enabled");
    AtomicBoolean up = new AtomicBoolean();
    Cluster.get(Adapter.toClassic(node.system())).registerOnMemberUp(() -> up.set(true));
    node.system().scheduler().scheduleOnce(after, () -> {
      if (!up.get()) {
        out.accept(message(node.address(), after, seeds, tls));
      }
    }, node.system().executionContext());
  }

  /** The explanation for a node at {@code address} that is not Up {@code after} its start. */
  static String message(String address, Duration after, List<HostPort> seeds, boolean tls) {
    String head = "node " + address + " is not an Up cluster member " + after.toSeconds() + " s after start (seeds "
        + seeds + "): ";
    String reach = "check that a seed node runs and that its HOST:PORT is reachable from here (and this node's "
        + "cai.cluster.hostname from there)";
    return tls
        ? head + "TLS is on, and the usual cause is a certificate the cluster does not trust (this node's certificate "
            + "is not signed by the CA in the others' trust store, or theirs by the CA in this node's), see the "
            + "SSLHandshakeException lines; otherwise " + reach
        : head + reach;
  }
}
