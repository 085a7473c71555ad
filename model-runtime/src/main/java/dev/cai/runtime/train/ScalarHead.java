package dev.cai.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.cai.runtime.weights.HostTensor;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A linear map from the decoder's final hidden state to one scalar (weight [1, hidden], bias [1]): read per token
 * it is the PPO value head, read at the last real (non-pad) token it is the reward / preference-model head
 * (Ziegler et al. 2019, https://arxiv.org/abs/1909.08593; lm-human-preferences). Its tensors are named
 * {@code <name>.weight} and {@code <name>.bias} in checkpoints.
 */
public final class ScalarHead implements AutoCloseable {
  public static final String VALUE_HEAD = "value_head";
  public static final String REWARD_HEAD = "reward_head";

  private final String name;
  private final int hiddenSize;
  private final NDArray weight;
  private final NDArray bias;

  private ScalarHead(String name, int hiddenSize, NDArray weight, NDArray bias) {
    this.name = name;
    this.hiddenSize = hiddenSize;
    this.weight = weight;
    this.bias = bias;
  }

  /** A fresh head: weight ~ N(0, 1/(hidden + 1)) as in lm-human-preferences, bias 0; arrays live in {@code manager}. */
  public static ScalarHead create(String name, int hiddenSize, TrainRng rng, NDManager manager) {
    float[] w = new float[hiddenSize];
    double std = 1.0 / Math.sqrt(hiddenSize + 1.0);
    for (int i = 0; i < hiddenSize; i++) {
      w[i] = (float) (rng.nextGaussian() * std);
    }
    return fromTensors(name, hiddenSize, Map.of(
        weightName(name), new HostTensor(weightName(name), new long[] {1, hiddenSize}, w),
        biasName(name), new HostTensor(biasName(name), new long[] {1}, new float[] {0f})), manager);
  }

  /** The head {@code name} from checkpoint tensors; errors name the missing or mis-shaped tensor. */
  public static ScalarHead fromTensors(String name, int hiddenSize, Map<String, HostTensor> tensors,
      NDManager manager) {
    HostTensor w = require(tensors, weightName(name), new long[] {1, hiddenSize});
    HostTensor b = require(tensors, biasName(name), new long[] {1});
    NDArray wa = manager.create(FloatBuffer.wrap(w.data()), new Shape(1, hiddenSize));
    NDArray ba = manager.create(FloatBuffer.wrap(b.data()), new Shape(1));
    return new ScalarHead(name, hiddenSize, wa, ba);
  }

  private static HostTensor require(Map<String, HostTensor> tensors, String key, long[] shape) {
    HostTensor t = tensors.get(key);
    if (t == null) {
      throw new IllegalArgumentException("Missing head tensor '" + key + "'");
    }
    if (!Arrays.equals(t.shape(), shape)) {
      throw new IllegalArgumentException("Head tensor '" + key + "' has shape " + Arrays.toString(t.shape())
          + " but the model's hidden size needs " + Arrays.toString(shape));
    }
    return t;
  }

  public static String weightName(String head) {
    return head + ".weight";
  }

  public static String biasName(String head) {
    return head + ".bias";
  }

  public String name() {
    return name;
  }

  /** Live parameter arrays keyed by checkpoint name, for the optimizer. */
  public Map<String, NDArray> namedParameters() {
    Map<String, NDArray> out = new LinkedHashMap<>();
    out.put(weightName(name), weight);
    out.put(biasName(name), bias);
    return out;
  }

  /** Copies checkpoint tensors into the existing arrays (so optimizer references stay valid). */
  public void load(Map<String, HostTensor> tensors) {
    HostTensor w = require(tensors, weightName(name), new long[] {1, hiddenSize});
    HostTensor b = require(tensors, biasName(name), new long[] {1});
    weight.set(FloatBuffer.wrap(w.data()));
    bias.set(FloatBuffer.wrap(b.data()));
  }

  /** Host copies of the parameters, for a checkpoint. */
  public Map<String, HostTensor> export() {
    Map<String, HostTensor> out = new LinkedHashMap<>();
    namedParameters().forEach((k, a) -> out.put(k, new HostTensor(k, a.getShape().getShape(), a.toFloatArray())));
    return out;
  }

  /** Scalar per position: hidden [B, T, H] → [B, T] (value head). */
  public NDArray perToken(NDArray hidden) {
    if (hidden.getShape().get(hidden.getShape().dimension() - 1) != hiddenSize) {
      throw new IllegalArgumentException("Head '" + name + "' expects hidden size " + hiddenSize + ", got "
          + hidden.getShape());
    }
    return hidden.getNDArrayInternal().linear(hidden, weight, bias).singletonOrThrow().squeeze(-1);
  }

  /**
   * Scalar at each row's last real token: hidden [B, T, H] and attentionMask [B, T] (1 = real) → [B]
   * (reward / preference score). Works for left and right padding.
   */
  public NDArray atLastToken(NDArray hidden, NDArray attentionMask) {
    NDArray last = lastRealIndex(attentionMask); // [B]
    NDArray perToken = perToken(hidden); // [B, T]
    return perToken.gather(last.expandDims(1), 1).squeeze(1);
  }

  /**
   * Index of the last position whose mask is 1, per row: max over t of mask[t] · (t + 1), minus 1. Rows with no
   * real token are refused.
   */
  public static NDArray lastRealIndex(NDArray attentionMask) {
    long t = attentionMask.getShape().get(1);
    NDArray mask = attentionMask.toType(DataType.INT64, false);
    NDArray positions = attentionMask.getManager().arange(1L, t + 1, 1L, DataType.INT64);
    NDArray weighted = mask.mul(positions);
    NDArray maxima = weighted.max(new int[] {1});
    for (long m : maxima.toLongArray()) {
      if (m == 0) {
        throw new IllegalArgumentException("A row of the attention mask has no real token");
      }
    }
    return maxima.sub(1L);
  }

  /** Host twin of {@link #lastRealIndex} for one row. */
  public static int lastRealIndex(int[] maskRow) {
    for (int i = maskRow.length - 1; i >= 0; i--) {
      if (maskRow[i] != 0) {
        return i;
      }
    }
    throw new IllegalArgumentException("A row of the attention mask has no real token");
  }

  @Override
  public void close() {
    weight.close();
    bias.close();
  }
}
