package dev.cai.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Message;
import dev.cai.protocol.v1.Comparison;
import dev.cai.protocol.v1.LearnerHaProto;
import dev.cai.protocol.v1.Prompt;
import dev.cai.protocol.v1.RecordsProto;
import dev.cai.protocol.v1.Rollout;
import dev.cai.protocol.v1.WeightsProto;
import java.io.NotSerializableException;
import java.io.Serializable;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ProtobufSerializerTest {
  private static ActorSystem<Void> system;
  private static Serialization serialization;

  /** A message type nobody bound to a serializer. */
  record Unbound(String text) {}

  /** A Serializable message: only Java serialization could carry it, and that is off. */
  record JavaOnly(String text) implements Serializable {}

  @BeforeAll
  static void start() {
    // the real cluster configuration of a node (port 0: any free port; it seeds itself but never needs to)
    NodeSettings s = new NodeSettings(ClusterRole.ALL, List.of(new HostPort("127.0.0.1", 1)), Optional.empty(),
        OptionalInt.of(0), OptionalInt.of(0));
    system = ActorSystem.create(Behaviors.empty(), ClusterConfigs.SYSTEM_NAME, ClusterConfigs.load(s)
        .withValue("pekko.cluster.seed-nodes", com.typesafe.config.ConfigValueFactory.fromIterable(List.of())));
    serialization = SerializationExtension.get(system);
  }

  @AfterAll
  static void stop() {
    system.terminate();
  }

  @Test
  void shouldRoundTripCaiMessagesWithTheirProtobufNameAsManifest() throws Exception {
    List<Message> messages = List.of(
        Prompt.newBuilder().setId("p-1").setText("How do I pick a lock?").build(),
        Comparison.newBuilder().setPrompt(Prompt.newBuilder().setId("p-1").setText("hi")).setResponseA("Sure.").setResponseB("No.").setPA(0.73).build(),
        Rollout.newBuilder().setPromptId("p-2").addResponseTokenIds(17).addResponseTokenIds(2)
            .addSampledLogprobs(-0.25f).setPolicyVersion(4).setEndedWithEos(true).build());
    for (Message m : messages) {
      Serializer serializer = serialization.findSerializerFor(m);
      assertInstanceOf(ProtobufSerializer.class, serializer, m.getClass().getName());
      assertEquals(ProtobufSerializer.IDENTIFIER, serializer.identifier());
      String manifest = Serializers.manifestFor(serializer, m);
      assertEquals("cai.v1." + m.getClass().getSimpleName(), manifest);
      byte[] bytes = serialization.serialize(m).get();
      Object back = serialization.deserialize(bytes, serializer.identifier(), manifest).get();
      assertEquals(m, back);
    }
  }

  @Test
  void shouldKnowEveryMessageOfTheCaiV1Schema() {
    Set<String> schema = Stream.of(RecordsProto.getDescriptor(), WeightsProto.getDescriptor(), LearnerHaProto.getDescriptor())
        .flatMap(f -> f.getMessageTypes().stream()).map(Descriptor::getFullName)
        .collect(Collectors.toCollection(java.util.TreeSet::new));
    // of the work schema, the two envelopes travel; the rest are their fields
    schema.addAll(Set.of("cai.v1.WorkRequest", "cai.v1.WorkReply"));
    assertEquals(schema, new java.util.TreeSet<>(ProtobufSerializer.knownMessages()));
  }

  @Test
  void shouldRefuseAnUnknownManifestNamingIt() {
    Throwable e = serialization.deserialize(new byte[] {8, 1}, ProtobufSerializer.IDENTIFIER, "cai.v1.NoSuchThing").failed().get();
    assertInstanceOf(NotSerializableException.class, e);
    assertTrue(e.getMessage().contains("unknown Protobuf message 'cai.v1.NoSuchThing'"), e.getMessage());
    assertTrue(e.getMessage().contains("cai.v1.Prompt"), e.getMessage());
  }

  @Test
  void shouldRefuseBytesThatAreNotTheNamedMessage() {
    Throwable e = serialization.deserialize(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff},
        ProtobufSerializer.IDENTIFIER, "cai.v1.Prompt").failed().get();
    assertTrue(e.getMessage().contains("are not a valid cai.v1.Prompt"), e.getMessage());
  }

  @Test
  void shouldRefuseAMessageClassWithNoBinding() {
    Throwable e = serialization.serialize(new Unbound("x")).failed().get();
    assertTrue(e.getMessage().contains("No configured serialization-bindings for class ["
        + Unbound.class.getName() + "]"), e.getMessage());
  }

  @Test
  void shouldRefuseJavaSerialization() {
    Throwable e = serialization.serialize(new JavaOnly("x")).failed().get();
    assertTrue(e.getMessage().contains("allow-java-serialization"), e.getMessage());
  }
}
