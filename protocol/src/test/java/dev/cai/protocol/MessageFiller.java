package dev.cai.protocol;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import dev.cai.protocol.v1.RecordsProto;
import java.lang.reflect.Method;

/** Test helper: fills every field of a message (recursively) with distinct non-default values. */
final class MessageFiller {
  private MessageFiller() {}

  static Message defaultInstance(String fullName) {
    var descriptor = RecordsProto.getDescriptor().findMessageTypeByName(fullName.substring(fullName.lastIndexOf('.') + 1));
    try {
      Class<?> cls = Class.forName("dev.cai.protocol.v1." + descriptor.getName());
      Method m = cls.getMethod("getDefaultInstance");
      return (Message) m.invoke(null);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  @SuppressWarnings("unchecked")
  static <M extends Message> M fill(M prototype) {
    return (M) fill(prototype.newBuilderForType(), 1).build();
  }

  private static Message.Builder fill(Message.Builder b, int seed) {
    int i = seed;
    for (FieldDescriptor fd : b.getDescriptorForType().getFields()) {
      i++;
      if (fd.isMapField()) {
        Message.Builder entry = b.newBuilderForField(fd);
        FieldDescriptor k = entry.getDescriptorForType().findFieldByName("key");
        FieldDescriptor v = entry.getDescriptorForType().findFieldByName("value");
        entry.setField(k, value(k, entry, i));
        entry.setField(v, value(v, entry, i));
        b.addRepeatedField(fd, entry.build());
      } else if (fd.isRepeated()) {
        b.addRepeatedField(fd, value(fd, b, i));
        b.addRepeatedField(fd, value(fd, b, i + 7));
      } else {
        b.setField(fd, value(fd, b, i));
      }
    }
    return b;
  }

  private static Object value(FieldDescriptor fd, Message.Builder parent, int i) {
    return switch (fd.getJavaType()) {
      case INT -> i * 3;
      case LONG -> (long) i * 1_000_003L;
      case FLOAT -> i + 0.25f;
      case DOUBLE -> i + 0.125;
      case BOOLEAN -> true;
      case STRING -> fd.getName() + "-" + i + "-ü";
      case BYTE_STRING -> ByteString.copyFrom(new byte[] {(byte) i, 0, (byte) 0xFF});
      case ENUM -> fd.getEnumType().getValues().get(fd.getEnumType().getValues().size() - 1);
      case MESSAGE -> fill(parent.newBuilderForField(fd), i * 10).build();
    };
  }
}
