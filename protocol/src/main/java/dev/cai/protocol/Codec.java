package dev.cai.protocol;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import java.util.Objects;

/**
 * Pure bytes ⇄ message codec for one Protobuf type. Unknown fields are kept (forward compatible);
 * malformed bytes raise a {@link ProtocolException} naming the message type.
 */
public final class Codec<M extends Message> {
  private final Parser<M> parser;
  private final String typeName;

  private Codec(Parser<M> parser, Descriptor descriptor) {
    this.parser = Objects.requireNonNull(parser);
    this.typeName = descriptor.getFullName();
  }

  /** A codec for the message type of {@code defaultInstance}. */
  @SuppressWarnings("unchecked")
  public static <M extends Message> Codec<M> of(M defaultInstance) {
    return new Codec<>((Parser<M>) defaultInstance.getParserForType(), defaultInstance.getDescriptorForType());
  }

  public byte[] encode(M message) {
    return message.toByteArray();
  }

  public M decode(byte[] bytes) {
    if (bytes == null) {
      throw new ProtocolException(typeName, "null bytes", null);
    }
    try {
      return parser.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new ProtocolException(typeName, bytes.length + " bytes: " + e.getMessage(), e);
    }
  }

  /** Fully qualified Protobuf type name, e.g. {@code cai.v1.Comparison}. */
  public String typeName() {
    return typeName;
  }
}
