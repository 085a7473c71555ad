package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.cai.app.ClusterProcesses.Proc;
import dev.cai.cluster.HostPort;
import dev.cai.cluster.ProtobufSerializer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two forked cluster nodes (ProbeNode): messages that are not cai.v1 Protobuf messages never cross the network, and each
 * refusal is a log line naming the class and why; a cai.v1 Prompt sent after them arrives.
 */
class SerializationRefusalIT {
  private static Proc start(ClusterProcesses nodes, String mode, int port, int management, String seed,
      List<String> jvmArgs) throws Exception {
    return nodes.java(mode, port, management, Map.of(), jvmArgs, ProbeNode.class.getName(),
        List.of(mode, String.valueOf(port), String.valueOf(management), seed));
  }

  @Test
  void shouldRefuseMessagesNotBoundToProtobufWithALogLineNamingTheClass(@TempDir Path dir) throws Exception {
    try (ClusterProcesses nodes = new ClusterProcesses(dir)) {
      run(nodes);
    }
  }

  private static void run(ClusterProcesses nodes) throws Exception {
    int[] ports = HostPort.freeLocalPorts(4);
    String seed = "127.0.0.1:" + ports[0];
    Proc receiver = start(nodes, "receive", ports[0], ports[1], seed, List.of());
    // the sender plays a newer node: its serializer also writes google.protobuf.Int32Value, unknown to the receiver
    Proc sender = start(nodes, "send", ports[2], ports[3], seed,
        List.of("-Dpekko.actor.serializers.cai-proto=" + NewerProtobufSerializer.class.getName()));
    nodes.awaitLog(receiver, "probe received dev.cai.protocol.v1.Prompt: id: \"probe-1\" text: \"delivered\"");
    // the refused messages were sent before the Prompt, to the same actor over the same association, which delivers
    // in order: had one of them been delivered, the receiver would have printed it before the Prompt
    String received = receiver.stdoutText();
    for (String refused : List.of("PlainRecord", "SerializableRecord", "StringValue", "Int32Value")) {
      assertFalse(received.contains(refused), refused + " was delivered:\n" + receiver.logs());
    }
    // refused on the sending node, each with Pekko's line naming the class and the reason (logged asynchronously:
    // awaited, not read once)
    nodes.awaitLog(sender, "Failed to serialize message [dev.cai.app.ProbeNode$PlainRecord].\n"
        + "java.io.NotSerializableException: No configured serialization-bindings for class [dev.cai.app.ProbeNode$PlainRecord]");
    nodes.awaitLog(sender, "Outgoing message attempted to use Java Serialization even though "
        + "`pekko.actor.allow-java-serialization = off` was set! Message type was: [class dev.cai.app.ProbeNode$SerializableRecord]");
    nodes.awaitLog(sender, "Failed to serialize message [dev.cai.app.ProbeNode$SerializableRecord].\n"
        + "org.apache.pekko.serialization.DisabledJavaSerializer$JavaSerializationException: Attempted to serialize message "
        + "using Java serialization while `pekko.actor.allow-java-serialization` was disabled.");
    nodes.awaitLog(sender, "Failed to serialize message [com.google.protobuf.StringValue].\n"
        + "java.lang.IllegalArgumentException: cai-proto serializes only cai.v1 messages, not com.google.protobuf.StringValue");
    // a message the (newer) sender could write but this node does not know: refused on the receiving node
    nodes.awaitLog(receiver, "Failed to deserialize message from [" + sender.address() + "] with serializer id ["
        + ProtobufSerializer.IDENTIFIER + "] and manifest [google.protobuf.Int32Value].\n"
        + "java.io.NotSerializableException: cai-proto: unknown Protobuf message 'google.protobuf.Int32Value' (known: cai.v1.");
  }
}
