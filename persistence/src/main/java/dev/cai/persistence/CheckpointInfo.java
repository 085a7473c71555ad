package dev.cai.persistence;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One entry of a store's checkpoint index: where the checkpoint lives and what it contains.
 *
 * @param name unique name given to {@code RecordStore.checkpoint}
 * @param path directory of the checkpoint (a RocksDB database)
 * @param createdAtMs wall-clock time of creation, epoch milliseconds
 * @param nextSequences next sequence number of each record kind at the checkpoint (its record counts)
 * @param offsets committed offset of each source at the checkpoint
 */
public record CheckpointInfo(String name, Path path, long createdAtMs, Map<String, Long> nextSequences,
    Map<String, Long> offsets) {
  public CheckpointInfo {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(path, "path");
    nextSequences = Map.copyOf(nextSequences);
    offsets = Map.copyOf(offsets);
  }

  // Stored as a google.protobuf.Struct: a Protobuf message that needs no new schema in the protocol module.

  byte[] toBytes() {
    return Struct.newBuilder()
        .putFields("name", Value.newBuilder().setStringValue(name).build())
        .putFields("path", Value.newBuilder().setStringValue(path.toString()).build())
        .putFields("created_at_ms", number(createdAtMs))
        .putFields("next_sequences", Value.newBuilder().setStructValue(numbers(nextSequences)).build())
        .putFields("offsets", Value.newBuilder().setStructValue(numbers(offsets)).build())
        .build()
        .toByteArray();
  }

  static CheckpointInfo fromBytes(byte[] bytes, String where) {
    try {
      Struct struct = Struct.parseFrom(bytes);
      return new CheckpointInfo(
          field(struct, "name", where).getStringValue(),
          Path.of(field(struct, "path", where).getStringValue()),
          toLong(field(struct, "created_at_ms", where), where),
          longs(field(struct, "next_sequences", where).getStructValue(), where),
          longs(field(struct, "offsets", where).getStructValue(), where));
    } catch (InvalidProtocolBufferException e) {
      throw new StoreException(where, "corrupt checkpoint index entry: " + e.getMessage(), e);
    }
  }

  private static Value number(long value) {
    // Struct numbers are doubles: exact for every long below 2^53, far above any count or timestamp here.
    return Value.newBuilder().setNumberValue(value).build();
  }

  private static Struct numbers(Map<String, Long> values) {
    Struct.Builder struct = Struct.newBuilder();
    values.forEach((key, value) -> struct.putFields(key, number(value)));
    return struct.build();
  }

  private static Value field(Struct struct, String name, String where) {
    Value value = struct.getFieldsMap().get(name);
    if (value == null) {
      throw new StoreException(where, "corrupt checkpoint index entry: no field '" + name + "'");
    }
    return value;
  }

  private static long toLong(Value value, String where) {
    double number = value.getNumberValue();
    if (value.getKindCase() != Value.KindCase.NUMBER_VALUE || number != Math.rint(number) || number < 0) {
      throw new StoreException(where, "corrupt checkpoint index entry: " + value + " is not a count");
    }
    return (long) number;
  }

  private static Map<String, Long> longs(Struct struct, String where) {
    Map<String, Long> values = new TreeMap<>();
    struct.getFieldsMap().forEach((key, value) -> values.put(key, toLong(value, where)));
    return values;
  }
}
