package dev.cai.runtime.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Per-layer key/value cache of one generation call, preallocated as [B, kvHeads, capacity, headDim]
 * and filled in place, so decoding never re-allocates the cache; owns its native memory.
 */
public final class KvCache implements AutoCloseable {
  private final NDManager manager;
  private final NDArray[] keys;
  private final NDArray[] values;
  private final int batchSize;
  private final int capacity;
  private int length;

  KvCache(NDManager parent, LlamaConfig config, int batchSize, int capacity) {
    if (batchSize <= 0 || capacity <= 0) {
      throw new IllegalArgumentException("KV cache needs batchSize > 0 and capacity > 0, got "
          + batchSize + " and " + capacity);
    }
    this.manager = parent.newSubManager();
    this.batchSize = batchSize;
    this.capacity = capacity;
    Shape shape = new Shape(batchSize, config.numKvHeads(), capacity, config.headDim());
    keys = new NDArray[config.numLayers()];
    values = new NDArray[config.numLayers()];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = manager.zeros(shape, DataType.FLOAT32);
      values[i] = manager.zeros(shape, DataType.FLOAT32);
    }
  }

  public int batchSize() {
    return batchSize;
  }

  public int capacity() {
    return capacity;
  }

  /** Positions already written. */
  public int length() {
    return length;
  }

  NDArray keys(int layer) {
    return keys[layer];
  }

  NDArray values(int layer) {
    return values[layer];
  }

  void ensureRoom(int newPositions) {
    if (length + newPositions > capacity) {
      throw new IllegalStateException("KV cache full: " + length + " + " + newPositions + " > capacity " + capacity);
    }
  }

  void advance(int newPositions) {
    length += newPositions;
  }

  @Override
  public void close() {
    manager.close();
  }
}
