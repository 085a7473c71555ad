package dev.cai.app;

import com.google.protobuf.Int32Value;
import com.google.protobuf.StringValue;
import dev.cai.cluster.ClusterConfigs;
import dev.cai.cluster.ClusterNode;
import dev.cai.cluster.ClusterRole;
import dev.cai.cluster.HostPort;
import dev.cai.cluster.NodeSettings;
import dev.cai.protocol.v1.Prompt;
import java.io.Serializable;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * A cluster node for SerializationRefusalIT, run as {@code ProbeNode receive|send PORT MANAGEMENT_PORT SEED}: the
 * receiver registers an actor with the Receptionist that prints every message it gets on stdout; the sender finds it
 * on the other node and sends it messages that must not cross the network, then one cai.v1 Prompt that must.
 */
final class ProbeNode {
  static final ServiceKey<Object> KEY = ServiceKey.create(Object.class, "cai-serialization-probe");

  /** A Java record, not a Protobuf message: no serializer binds it. */
  record PlainRecord(String text) {}

  /** A Java-serializable record: only Java serialization (disabled) would carry it. */
  record SerializableRecord(String text) implements Serializable {}

  private ProbeNode() {}

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[1]);
    NodeSettings settings = new NodeSettings(ClusterRole.ALL, List.of(HostPort.parse(args[3])), Optional.empty(),
        OptionalInt.of(port), OptionalInt.of(Integer.parseInt(args[2])));
    ClusterNode node = ClusterNode.start(ClusterConfigs.load(settings));
    node.system().systemActorOf("receive".equals(args[0]) ? receiver() : sender(), "probe", Props.empty());
    node.awaitTermination();
  }

  private static void print(String line) {
    System.out.println(line);
    System.out.flush();
  }

  private static Behavior<Object> receiver() {
    return Behaviors.setup(ctx -> {
      ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
      return Behaviors.receiveMessage(m -> {
        print("probe received " + m.getClass().getName() + ": " + m.toString().strip().replace('\n', ' '));
        return Behaviors.same();
      });
    });
  }

  private static Behavior<Object> sender() {
    return Behaviors.setup(ctx -> {
      ActorRef<Receptionist.Listing> listings = ctx.messageAdapter(Receptionist.Listing.class, l -> l);
      ctx.getSystem().receptionist().tell(Receptionist.subscribe(KEY, listings));
      return Behaviors.receiveMessage(m -> {
        if (m instanceof Receptionist.Listing l) {
          for (ActorRef<Object> probe : l.getServiceInstances(KEY)) {
            if (probe.path().address().hasGlobalScope()) {
              send(probe);
              return Behaviors.ignore();
            }
          }
        }
        return Behaviors.same();
      });
    });
  }

  private static void send(ActorRef<Object> probe) {
    List<Object> messages = List.of(
        new PlainRecord("plain"),
        new SerializableRecord("java-serializable"),
        StringValue.of("a protobuf message that is not cai.v1"),
        Int32Value.of(42), // carried only when this JVM runs NewerProtobufSerializer (a newer node)
        Prompt.newBuilder().setId("probe-1").setText("delivered").build());
    for (Object m : messages) {
      print("probe sending " + m.getClass().getName() + " to " + probe.path());
      probe.tell(m);
    }
  }
}
