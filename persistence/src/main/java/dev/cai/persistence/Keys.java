package dev.cai.persistence;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;

/** Key encodings shared by every store: big-endian sequence numbers and UTF-8 names, ordered as unsigned bytes. */
final class Keys {
  /** The order of RocksDB's default bytewise comparator. */
  static final Comparator<byte[]> UNSIGNED = Arrays::compareUnsigned;

  static final int SEQUENCE_BYTES = Long.BYTES;

  private Keys() {}

  /** Big-endian bytes of a non-negative sequence number, so that byte order equals numeric order. */
  static byte[] sequence(long sequence) {
    if (sequence < 0) {
      throw new IllegalArgumentException("sequence must be >= 0: " + sequence);
    }
    byte[] key = new byte[SEQUENCE_BYTES];
    for (int i = SEQUENCE_BYTES - 1; i >= 0; i--) {
      key[i] = (byte) sequence;
      sequence >>>= 8;
    }
    return key;
  }

  /** Inverse of {@link #sequence(long)}; {@code where} names the store for the error of a malformed key. */
  static long sequence(byte[] key, String where, String columnFamily) {
    if (key.length != SEQUENCE_BYTES || key[0] < 0) {
      throw new StoreException(where, "corrupt key in column family '" + columnFamily + "': expected an "
          + SEQUENCE_BYTES + "-byte non-negative sequence number, found " + key.length + " bytes");
    }
    long sequence = 0;
    for (byte b : key) {
      sequence = (sequence << 8) | (b & 0xFF);
    }
    return sequence;
  }

  static byte[] name(String name) {
    return name.getBytes(StandardCharsets.UTF_8);
  }

  static String name(byte[] key) {
    return new String(key, StandardCharsets.UTF_8);
  }
}
