package dev.cai.cluster;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/** A cluster node's address as given on the command line: {@code HOST:PORT}. */
public record HostPort(String host, int port) {
  public HostPort {
    if (host == null || host.isBlank() || host.contains(":") || host.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException("bad host '" + host + "' (expected a host name or IPv4 address)");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("bad port " + port + " for host " + host + " (expected 1..65535)");
    }
  }

  /** Parses {@code HOST:PORT}, with an error that quotes the input. */
  public static HostPort parse(String s) {
    int colon = s == null ? -1 : s.lastIndexOf(':');
    if (colon <= 0 || colon == s.length() - 1) {
      throw new IllegalArgumentException("bad address '" + s + "' (expected HOST:PORT, e.g. 127.0.0.1:25520)");
    }
    int port;
    try {
      port = Integer.parseInt(s.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad address '" + s + "': port '" + s.substring(colon + 1) + "' is not a number");
    }
    try {
      return new HostPort(s.substring(0, colon), port);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("bad address '" + s + "': " + e.getMessage());
    }
  }

  /** The Pekko address of the node's actor system {@code system} at this host and port. */
  public String pekkoAddress(String system) {
    return "pekko://" + system + "@" + host + ":" + port;
  }

  @Override
  public String toString() {
    return host + ":" + port;
  }

  /** {@code n} distinct ports of 127.0.0.1 that were free a moment ago (for nodes started on one machine). */
  public static int[] freeLocalPorts(int n) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      int[] ports = new int[n];
      for (int i = 0; i < n; i++) {
        ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        sockets.add(s);
        ports[i] = s.getLocalPort();
      }
      return ports;
    } finally {
      for (ServerSocket s : sockets) {
        s.close();
      }
    }
  }
}
