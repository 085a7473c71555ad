package dev.cai.persistence;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** An ordered list of puts and deletes that a {@link KvStore} applies atomically: all of them or none. */
public final class KvBatch {
  /** One put (value present) or delete (value null) in a column family. */
  public record Op(String columnFamily, byte[] key, byte[] value) {
    public Op {
      Objects.requireNonNull(columnFamily, "columnFamily");
      Objects.requireNonNull(key, "key");
    }

    public boolean isDelete() {
      return value == null;
    }
  }

  private final List<Op> ops = new ArrayList<>();

  public KvBatch put(String columnFamily, byte[] key, byte[] value) {
    ops.add(new Op(columnFamily, key, Objects.requireNonNull(value, "value")));
    return this;
  }

  public KvBatch delete(String columnFamily, byte[] key) {
    ops.add(new Op(columnFamily, key, null));
    return this;
  }

  /** The operations in the order they were added; a later op on the same key wins. */
  public List<Op> ops() {
    return List.copyOf(ops);
  }

  public boolean isEmpty() {
    return ops.isEmpty();
  }

  public int size() {
    return ops.size();
  }

  /** Bytes of all keys and values in the batch (what a commit writes, before the store's own overhead). */
  public long bytes() {
    long n = 0;
    for (Op op : ops) {
      n += op.key().length + (op.value() == null ? 0 : op.value().length);
    }
    return n;
  }
}
