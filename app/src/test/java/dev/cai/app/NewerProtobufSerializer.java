package dev.cai.app;

import com.google.protobuf.Int32Value;
import dev.cai.cluster.ProtobufSerializer;
import java.io.NotSerializableException;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * The serializer of a hypothetical newer cai node for SerializationRefusalIT: ProbeNode's sender runs it in place of
 * {@link ProtobufSerializer} (same id), and it also writes {@code google.protobuf.Int32Value}, which today's nodes do
 * not know, so the refusal on the receiving side can be observed.
 */
public final class NewerProtobufSerializer extends SerializerWithStringManifest {
  private final ProtobufSerializer current;

  public NewerProtobufSerializer(ExtendedActorSystem system) {
    current = new ProtobufSerializer(system);
  }

  @Override
  public int identifier() {
    return ProtobufSerializer.IDENTIFIER;
  }

  @Override
  public String manifest(Object o) {
    return o instanceof Int32Value v ? v.getDescriptorForType().getFullName() : current.manifest(o);
  }

  @Override
  public byte[] toBinary(Object o) {
    return o instanceof Int32Value v ? v.toByteArray() : current.toBinary(o);
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    return current.fromBinary(bytes, manifest);
  }
}
