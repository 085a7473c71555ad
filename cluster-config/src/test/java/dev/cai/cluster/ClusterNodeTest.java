package dev.cai.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class ClusterNodeTest {
  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void shouldFormAOneNodeClusterThatSeedsItselfAndAnswersManagementRequests() throws Exception {
    int port = freePort();
    int management = freePort();
    NodeSettings s = new NodeSettings(ClusterRole.ALL, List.of(new HostPort("127.0.0.1", port)), Optional.empty(),
        OptionalInt.of(port), OptionalInt.of(management));
    HttpClient http = HttpClient.newHttpClient();
    try (ClusterNode node = ClusterNode.start(ClusterConfigs.load(s))) {
      assertEquals("pekko://cai@127.0.0.1:" + port, node.address());
      assertEquals(List.of("feedback", "learner", "policy"), node.roles());
      assertEquals("http://127.0.0.1:" + management, node.managementUrl());
      HttpRequest ready = HttpRequest.newBuilder(URI.create(node.managementUrl() + "/ready")).build();
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      int status = 0;
      while (status != 200 && System.nanoTime() < deadline) {
        status = http.send(ready, HttpResponse.BodyHandlers.ofString()).statusCode();
        Thread.sleep(100);
      }
      assertEquals(200, status);
      assertEquals("Up", node.memberStatus());
      String members = http.send(HttpRequest.newBuilder(URI.create(node.managementUrl() + "/cluster/members")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(members.contains("\"node\":\"pekko://cai@127.0.0.1:" + port + "\""), members);
      assertTrue(members.contains("\"status\":\"Up\""), members);
    }
  }

  @Test
  void shouldNameTheManagementAddressItCouldNotBind() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      int port = freePort();
      NodeSettings s = new NodeSettings(ClusterRole.POLICY, List.of(new HostPort("127.0.0.1", port)), Optional.empty(),
          OptionalInt.of(port), OptionalInt.of(taken.getLocalPort()));
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> ClusterNode.start(ClusterConfigs.load(s)));
      assertTrue(e.getMessage().startsWith("could not start Pekko Management on 127.0.0.1:" + taken.getLocalPort() + ": "),
          e.getMessage());
    }
  }
}
