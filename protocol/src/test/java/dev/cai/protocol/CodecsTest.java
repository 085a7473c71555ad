package dev.cai.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.UnknownFieldSet;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class CodecsTest {

  /** Every codec declared in {@link Codecs}, found by reflection so a new message cannot be forgotten. */
  static Stream<Codec<?>> allCodecs() throws IllegalAccessException {
    List<Codec<?>> codecs = new ArrayList<>();
    for (Field f : Codecs.class.getFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == Codec.class) {
        codecs.add((Codec<?>) f.get(null));
      }
    }
    return codecs.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("allCodecs")
  <M extends Message> void shouldRoundTripEveryFieldOfEveryMessage(Codec<M> codec) {
    M full = MessageFiller.fill(defaultOf(codec));
    // every declared field is set, so the round trip covers the whole schema
    for (FieldDescriptor fd : full.getDescriptorForType().getFields()) {
      boolean set = fd.isRepeated() ? full.getRepeatedFieldCount(fd) > 0 : full.hasField(fd);
      assertTrue(set, codec.typeName() + "." + fd.getName() + " was not filled");
    }
    byte[] bytes = codec.encode(full);
    M back = codec.decode(bytes);
    assertEquals(full, back);
    assertArrayEquals(bytes, codec.encode(back));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("allCodecs")
  <M extends Message> void shouldNameTheMessageTypeWhenBytesAreMalformed(Codec<M> codec) {
    // field 1, wire type 2 (length-delimited) announcing 100 bytes that are not there
    byte[] truncated = {0x0A, 0x64, 0x01, 0x02};
    ProtocolException e = assertThrows(ProtocolException.class, () -> codec.decode(truncated));
    assertEquals(codec.typeName(), e.messageType());
    assertTrue(e.getMessage().startsWith("Malformed " + codec.typeName() + ": 4 bytes"), e.getMessage());
    assertThrows(ProtocolException.class, () -> codec.decode(null));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("allCodecs")
  <M extends Message> void shouldTolerateAndPreserveUnknownFields(Codec<M> codec) throws IOException {
    M full = MessageFiller.fill(defaultOf(codec));
    ByteArrayOutputStream extra = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(extra);
    out.writeUInt64(999, 42L); // a field from a newer schema
    out.writeBytes(1000, ByteString.copyFromUtf8("future"));
    out.flush();
    byte[] bytes = concat(codec.encode(full), extra.toByteArray());

    M decoded = codec.decode(bytes);
    UnknownFieldSet unknown = decoded.getUnknownFields();
    assertEquals(List.of(42L), unknown.getField(999).getVarintList());
    assertEquals(full, decoded.toBuilder().setUnknownFields(UnknownFieldSet.getDefaultInstance()).build());
    assertArrayEquals(bytes, codec.encode(decoded), "unknown fields survive a re-encode");
  }

  @SuppressWarnings("unchecked")
  private static <M extends Message> M defaultOf(Codec<M> codec) {
    return (M) MessageFiller.defaultInstance(codec.typeName());
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
