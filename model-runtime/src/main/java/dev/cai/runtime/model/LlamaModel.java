package dev.cai.runtime.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.cai.runtime.weights.HostTensor;
import dev.cai.runtime.weights.ModelWeights;
import dev.cai.runtime.weights.TensorNames;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Llama-family causal decoder as a DJL block (token embedding, RMSNorm, rotary position embedding,
 * grouped-query attention with a KV cache, SwiGLU MLP, tied or separate LM head), following the Hugging Face
 * {@code LlamaForCausalLM} conventions (Touvron et al. 2023, https://arxiv.org/abs/2302.13971).
 *
 * <p>Parameters are kept as canonical per-tensor arrays ({@link #namedParameters()}) so an optimizer can
 * update them and a checkpoint can save them. Inference paths (cached decode, scoring) use fused
 * q|k|v and gate|up weights built lazily from those arrays; they are rebuilt after {@link #loadWeights}
 * and after {@link #parametersUpdated()}, which a trainer must call after changing parameters in place.
 *
 * <p>Native memory: every method attaches its results to the manager of its input arrays and frees each
 * layer's temporaries as it goes; callers run each call in a sub-manager of {@link #manager()} and close it.
 * Threading: one model is used by one thread at a time (a model actor owns it).
 */
public final class LlamaModel extends AbstractBlock implements AutoCloseable {
  /** Additive attention bias of a masked key: exp(-1e9 - max) is exactly 0 in float32. */
  public static final float MASKED = -1e9f;
  /**
   * Most attention scores (batch × heads × queries × keys floats) one forward should materialise; callers
   * split long inputs into chunks of queries (generation prefill) or rows (scoring) to stay under it. 16 MB
   * keeps each score array below glibc's largest mmap threshold (32 MB), so it is served from the reused heap
   * instead of fresh page-faulting mmaps (which cost several times the softmax itself on a VM).
   */
  public static final long ATTENTION_SCORE_BUDGET = 1L << 22;
  private static final int MAX_ROPE_TABLE = 32_768;

  private final LlamaConfig config;
  private final Device device;
  private final NDManager manager;
  private final Map<String, Parameter> named = new LinkedHashMap<>();
  private final NDArray cosTable;
  private final NDArray sinTable;
  private final int ropeLength;
  private final float attnScale;
  // Scalars used on the differentiable path are arrays owned by the model: a Java number operand becomes a
  // temporary tensor over a Java buffer that can be collected before backward reads it (pow and mul keep
  // their operand for the gradient), which made a training step depend on when the GC ran.
  private final NDArray rmsEps;
  private final NDArray rsqrtExponent;
  private final NDArray attnScaleArray;
  private NDManager inferenceManager;
  private InferenceWeights inference;

  /**
   * Weights of one decoder layer with q|k|v and gate|up fused along the output dimension. In the inference
   * form the RMSNorm weights are folded into the columns of the next projection (norm fields null) and the
   * 1/√d attention scale into the q rows ({@code scoreScale} 1).
   */
  private record LayerWeights(NDArray inputNorm, NDArray qkv, NDArray o, NDArray postNorm, NDArray gateUp,
      NDArray down, float scoreScale) {}

  /** Gradient-free views of every weight used by the inference paths. */
  private record InferenceWeights(NDArray embed, List<LayerWeights> layers, NDArray finalNorm, NDArray lmHead) {}

  private LlamaModel(ModelWeights weights, Device device) {
    super((byte) 1);
    this.config = weights.config();
    this.device = device;
    this.manager = NDManager.newBaseManager(device);
    try {
      for (String name : LlamaTensorLayout.expectedShapes(config).keySet()) {
        HostTensor t = weights.require(name);
        NDArray array = manager.create(t.data(), new Shape(t.shape()));
        Parameter p = Parameter.builder().setName(name).setType(Parameter.Type.WEIGHT).build();
        p.setArray(array);
        named.put(name, addParameter(p));
      }
      ropeLength = Math.min(config.maxPositionEmbeddings(), MAX_ROPE_TABLE);
      float[][] tables = ropeTables(config.headDim(), config.ropeTheta(), ropeLength);
      cosTable = manager.create(tables[0], new Shape(ropeLength, config.headDim()));
      sinTable = manager.create(tables[1], new Shape(ropeLength, config.headDim()));
      attnScale = (float) (1.0 / Math.sqrt(config.headDim()));
      rmsEps = manager.create((float) config.rmsNormEps());
      rsqrtExponent = manager.create(-0.5f);
      attnScaleArray = manager.create(attnScale);
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** Builds a model on the device chosen by {@code setting}; validates every tensor first. */
  public static LlamaModel create(ModelWeights weights, DeviceSetting setting) {
    return create(weights, setting.resolve());
  }

  /** Builds a model on {@code device}; validates every tensor's presence and shape first. */
  public static LlamaModel create(ModelWeights weights, Device device) {
    LlamaTensorLayout.validate(weights);
    return new LlamaModel(weights, device);
  }

  public LlamaConfig config() {
    return config;
  }

  public Device device() {
    return device;
  }

  /** The model's own manager (parameters live here); callers create per-call sub-managers from it. */
  public NDManager manager() {
    return manager;
  }

  /** Longest sequence (positions) the rotary tables cover. */
  public int maxSequenceLength() {
    return ropeLength;
  }

  /** Parameter arrays in canonical order ({@link LlamaTensorLayout#expectedShapes}); live, not copies. */
  public Map<String, NDArray> namedParameters() {
    Map<String, NDArray> out = new LinkedHashMap<>();
    named.forEach((k, p) -> out.put(k, p.getArray()));
    return Collections.unmodifiableMap(out);
  }

  /** The DJL parameters in canonical order. */
  public Map<String, Parameter> parameterMap() {
    return Collections.unmodifiableMap(named);
  }

  /** Current weights as float32 host tensors (a copy), labelled with {@code source}. */
  public ModelWeights exportWeights(String source) {
    Map<String, HostTensor> tensors = new LinkedHashMap<>();
    named.forEach((k, p) -> tensors.put(k, new HostTensor(k, p.getArray().getShape().getShape(),
        p.getArray().toFloatArray())));
    return new ModelWeights(config, tensors, source);
  }

  /**
   * Copies new weights into the existing parameter arrays (same array objects, so optimizer references stay
   * valid); the weights must have this model's config and pass the full shape validation.
   */
  public void loadWeights(ModelWeights weights) {
    GradMode.disabled(() -> {
      if (!weights.config().equals(config)) {
        throw new IllegalArgumentException("Weights from " + weights.source() + " have config " + weights.config()
            + " but the model was built with " + config);
      }
      LlamaTensorLayout.validate(weights);
      named.forEach((k, p) -> p.getArray().set(FloatBuffer.wrap(weights.require(k).data())));
      parametersUpdated();
    });
  }

  /** Drops the fused inference weights; the next inference call rebuilds them from the parameters. */
  public synchronized void parametersUpdated() {
    if (inferenceManager != null) {
      inferenceManager.close();
      inferenceManager = null;
      inference = null;
    }
  }

  /**
   * Units (at least 1) per forward that keep attention scores within {@code budget} floats when each unit costs
   * {@code perUnit} scores per head (a query over {@code batch × keys} keys, or a row of T × T).
   */
  public int chunkWithinBudget(long perUnit, long budget) {
    long perUnitAllHeads = perUnit * config.numHeads();
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, budget / perUnitAllHeads));
  }

  /** A key/value cache for {@code batchSize} sequences of up to {@code capacity} positions. */
  public KvCache newCache(int batchSize, int capacity) {
    if (capacity > ropeLength) {
      throw new IllegalArgumentException("Sequence of " + capacity + " positions exceeds the model's "
          + ropeLength + " rotary positions");
    }
    return new KvCache(manager, config, batchSize, capacity);
  }

  // ---------------------------------------------------------------------------------------------
  // Differentiable full forward (training)

  /**
   * Differentiable forward of a full padded batch without a cache: {@code inputIds} [B, T] (int),
   * {@code attentionMask} [B, T] (1 = real token, 0 = padding). Results live in the manager of {@code inputIds}.
   */
  public ForwardOutput forward(NDArray inputIds, NDArray attentionMask) {
    NDArray hidden = forwardHidden(inputIds, attentionMask);
    return new ForwardOutput(logits(hidden), hidden);
  }

  /** Like {@link #forward} but returns only the final hidden states [B, T, hidden]. */
  public NDArray forwardHidden(NDArray inputIds, NDArray attentionMask) {
    NDManager scratch = inputIds.getManager();
    List<LayerWeights> layers = new ArrayList<>(config.numLayers());
    for (int i = 0; i < config.numLayers(); i++) {
      layers.add(fuse(i, scratch));
    }
    checkLength(inputIds.getShape().get(1));
    return hidden(inputIds, positionIds(attentionMask), attentionBias(attentionMask),
        param(TensorNames.EMBED_TOKENS), layers, param(TensorNames.FINAL_NORM), null);
  }

  /** LM head on any hidden states [..., hidden] → logits [..., vocab]; differentiable. */
  public NDArray logits(NDArray hidden) {
    return linear(hidden, param(lmHeadName()));
  }

  // ---------------------------------------------------------------------------------------------
  // Inference (no gradients, fused weights)

  /** Inference forward of a padded batch without cache: final hidden states [B, T, hidden]. */
  public NDArray inferenceHidden(NDArray inputIds, NDArray attentionMask) {
    return GradMode.disabled(() -> {
      InferenceWeights w = inferenceWeights();
      checkLength(inputIds.getShape().get(1));
      return hidden(inputIds, positionIds(attentionMask), attentionBias(attentionMask), w.embed(), w.layers(),
          w.finalNorm(), null);
    });
  }

  /**
   * The weight matrices one inference step multiplies by, as the inference path holds them: per layer q|k|v, o,
   * gate|up and down (fused, with the norms folded in), then the LM head. Live arrays: read them, never change them.
   */
  public List<NDArray> inferenceMatrices() {
    InferenceWeights w = inferenceWeights();
    List<NDArray> out = new ArrayList<>(4 * w.layers().size() + 1);
    for (LayerWeights layer : w.layers()) {
      out.addAll(List.of(layer.qkv(), layer.o(), layer.gateUp(), layer.down()));
    }
    out.add(w.lmHead());
    return List.copyOf(out);
  }

  /** Inference LM head: logits [..., vocab] of hidden states [..., hidden]. */
  public NDArray inferenceLogits(NDArray hidden) {
    return linear(hidden, inferenceWeights().lmHead());
  }

  /**
   * Cached forward of new positions: runs {@code inputIds} [B, S] at {@code positionIds} [B, S] with additive
   * {@code attentionBias} [B, 1, 1, S, cache.length() + S] (see {@link #attentionBias(NDArray, int)}), appends
   * their keys/values to {@code cache} and returns their final hidden states [B, S, hidden]. Results live in the
   * manager of {@code inputIds}.
   */
  public NDArray forwardCached(NDArray inputIds, NDArray positionIds, NDArray attentionBias, KvCache cache) {
    return GradMode.disabled(() -> { // the cache is written in place, on whatever thread serves the model
      InferenceWeights w = inferenceWeights();
      int s = (int) inputIds.getShape().get(1);
      cache.ensureRoom(s);
      NDArray h = hidden(inputIds, positionIds, attentionBias, w.embed(), w.layers(), w.finalNorm(), cache);
      cache.advance(s);
      return h;
    });
  }

  /** {@link #forwardCached} followed by the LM head on the last position only: logits [B, vocab]. */
  public NDArray decodeStep(NDArray inputIds, NDArray positionIds, NDArray attentionBias, KvCache cache) {
    NDArray h = forwardCached(inputIds, positionIds, attentionBias, cache);
    NDArray last = h.getShape().get(1) == 1 ? h : h.get(new NDIndex(":, -1:, :"));
    return linear(last, inferenceWeights().lmHead()).squeeze(1);
  }

  /** Position ids of a left-padded batch: cumsum(mask) - 1, clamped at 0; [B, T] int64. */
  public static NDArray positionIds(NDArray attentionMask) {
    return attentionMask.toType(DataType.INT64, false).cumSum(1).sub(1).maximum(0);
  }

  /** Additive attention bias [B, 1, 1, T, T] of a full batch: see {@link #attentionBias(NDArray, int)}. */
  public static NDArray attentionBias(NDArray attentionMask) {
    return attentionBias(attentionMask, (int) attentionMask.getShape().get(1));
  }

  /**
   * Additive attention bias [B, 1, 1, S, T] for the last {@code queryLength} = S of T positions, keys 0..T-1
   * ({@code attentionMask} [B, T], 1 = real): 0 where key j is real and j ≤ the query's position, else
   * {@link #MASKED}.
   */
  public static NDArray attentionBias(NDArray attentionMask, int queryLength) {
    long b = attentionMask.getShape().get(0);
    int t = (int) attentionMask.getShape().get(1);
    int s = queryLength;
    if (s <= 0 || s > t) {
      throw new IllegalArgumentException("queryLength must be in [1, " + t + "], got " + s);
    }
    float[] causal = new float[s * t];
    for (int i = 0; i < s; i++) {
      for (int j = t - s + i + 1; j < t; j++) {
        causal[i * t + j] = MASKED;
      }
    }
    NDManager m = attentionMask.getManager();
    NDArray keyPad = attentionMask.toType(DataType.FLOAT32, false).sub(1f).mul(-MASKED).reshape(b, 1, 1, 1, t);
    return keyPad.add(m.create(causal, new Shape(1, 1, 1, s, t)));
  }

  // ---------------------------------------------------------------------------------------------
  // The decoder itself: one home for the math of both paths

  private NDArray hidden(NDArray inputIds, NDArray positionIds, NDArray bias, NDArray embed,
      List<LayerWeights> layers, NDArray finalNorm, KvCache cache) {
    NDArray ids = inputIds.toType(DataType.INT64, false);
    NDArray pos = positionIds.toType(DataType.INT64, false);
    NDArray x = embedding(ids, embed);
    NDArray cos = embedding(pos, cosTable).expandDims(2);
    NDArray sin = embedding(pos, sinTable).expandDims(2);
    long b = ids.getShape().get(0);
    long s = ids.getShape().get(1);
    // Decoding one position: scores are [B, kv, g, T], so the bias drops its query axis once per step.
    NDArray layerBias = s == 1 ? bias.reshape(b, 1, 1, bias.getShape().get(4)) : bias;
    CacheSlots slots = cache == null ? null : new CacheSlots(cache, s);
    NDManager out = x.getManager();
    for (int i = 0; i < layers.size(); i++) {
      // Each layer's temporaries (and its input) die with its scope; autograd keeps what backward needs.
      try (NDManager scope = out.newSubManager()) {
        x.attach(scope);
        NDArray y = decoderLayer(x, layers.get(i), cos, sin, layerBias, slots, i);
        y.attach(out);
        x = y;
      }
    }
    return rmsNorm(x, finalNorm);
  }

  /** Where this step writes its keys/values in the cache, and the valid prefix it attends to. */
  private record CacheSlots(KvCache cache, NDIndex written, NDIndex valid) {
    CacheSlots(KvCache cache, long newPositions) {
      this(cache, new NDIndex().addAllDim(2).addSliceDim(cache.length(), cache.length() + newPositions),
          new NDIndex().addAllDim(2).addSliceDim(0, cache.length() + newPositions));
    }
  }

  private NDArray decoderLayer(NDArray x, LayerWeights w, NDArray cos, NDArray sin, NDArray bias, CacheSlots slots,
      int layer) {
    long b = x.getShape().get(0);
    long s = x.getShape().get(1);
    int nq = config.numHeads();
    int nkv = config.numKvHeads();
    int g = config.groupSize();
    int d = config.headDim();

    // Attention: q|k|v in one matmul, RoPE on q|k in one go.
    NDArray qkv = linear(rmsNorm(x, w.inputNorm()), w.qkv()).reshape(b, s, nq + 2L * nkv, d);
    NDList qkAndV = qkv.split(new long[] {nq + nkv}, 2);
    NDList qAndK = rope(qkAndV.get(0), cos, sin).split(new long[] {nq}, 2);
    NDArray k = qAndK.get(1).transpose(0, 2, 1, 3); // [B, kv, S, D]
    NDArray v = qkAndV.get(1).transpose(0, 2, 1, 3);
    if (slots != null) {
      KvCache cache = slots.cache();
      cache.keys(layer).set(slots.written(), k);
      cache.values(layer).set(slots.written(), v);
      k = cache.keys(layer).get(x.getManager(), slots.valid());
      v = cache.values(layer).get(x.getManager(), slots.valid());
    }
    long tk = k.getShape().get(2);
    // Grouped-query attention without repeating k/v: query head h = kv·g + i reads kv head kv (HF repeat_kv);
    // the g query heads of one kv head become g·S rows of one matmul.
    NDArray ctx;
    if (s == 1) {
      NDArray q = qAndK.get(0).reshape(b, nkv, g, d);
      NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)); // [B, kv, g, T]
      if (w.scoreScale() != 1f) {
        scores = scores.mul(scaleOf(w));
      }
      ctx = scores.add(bias).softmax(-1).matMul(v).reshape(b, 1, (long) nq * d);
    } else {
      NDArray q = qAndK.get(0).reshape(b, s, nkv, g, d).transpose(0, 2, 3, 1, 4).reshape(b, nkv, g * s, d);
      NDArray scores = q.matMul(k.transpose(0, 1, 3, 2));
      if (w.scoreScale() != 1f) {
        scores = scores.mul(scaleOf(w));
      }
      NDArray probs = scores.reshape(b, nkv, g, s, tk).add(bias).softmax(-1).reshape(b, nkv, g * s, tk);
      ctx = probs.matMul(v).reshape(b, nkv, g, s, d).transpose(0, 3, 1, 2, 4).reshape(b, s, (long) nq * d);
    }
    x = x.add(linear(ctx, w.o()));

    // SwiGLU MLP: gate|up in one matmul.
    NDList gateUp = linear(rmsNorm(x, w.postNorm()), w.gateUp()).split(2, 2);
    NDArray gate = gateUp.get(0);
    NDArray act = gate.mul(gate.getNDArrayInternal().sigmoid()).mul(gateUp.get(1)); // silu(gate) · up
    return x.add(linear(act, w.down()));
  }

  /** The layer's score scale as the model-owned array (only the unfused weights carry a scale, 1/√d). */
  private NDArray scaleOf(LayerWeights w) {
    if (w.scoreScale() != attnScale) {
      throw new IllegalStateException("unexpected attention score scale " + w.scoreScale());
    }
    return attnScaleArray;
  }

  /** RMSNorm: x · rsqrt(mean(x²) + eps) · w; a null {@code weight} means it was folded into the next matmul. */
  private NDArray rmsNorm(NDArray x, NDArray weight) {
    NDArray normed = x.mul(x.square().mean(new int[] {-1}, true).add(rmsEps).pow(rsqrtExponent));
    return weight == null ? normed : normed.mul(weight);
  }

  /** RoPE, HF rotate_half form: x·cos + rotate_half(x)·sin = x·cos + swap_halves(x)·[-sin₁, sin₂]. */
  private static NDArray rope(NDArray x, NDArray cos, NDArray signedSin) {
    int last = x.getShape().dimension() - 1;
    NDList halves = x.split(2, last);
    NDArray swapped = NDArrays.concat(new NDList(halves.get(1), halves.get(0)), last);
    return x.mul(cos).add(swapped.mul(signedSin));
  }

  /** x @ w^T without materialising the transpose: how every weight matrix of the model is applied. */
  public static NDArray linear(NDArray x, NDArray w) {
    return x.getNDArrayInternal().linear(x, w, null).singletonOrThrow();
  }

  private static NDArray embedding(NDArray ids, NDArray table) {
    return ids.getNDArrayInternal().embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
  }

  /**
   * cos table [n, d] = cos(cat(f, f)) and signed sin table [n, d] = cat(-sin f, sin f), f = pos · θ^(-2i/d)
   * (the sign folds rotate_half's negation into the table).
   */
  static float[][] ropeTables(int headDim, double theta, int length) {
    int half = headDim / 2;
    float[] cos = new float[length * headDim];
    float[] sin = new float[length * headDim];
    for (int i = 0; i < half; i++) {
      float invFreq = (float) Math.pow(theta, -2.0 * i / headDim); // float32 like HF's inv_freq
      for (int p = 0; p < length; p++) {
        double angle = (double) ((float) p * invFreq);
        float c = (float) Math.cos(angle);
        float sn = (float) Math.sin(angle);
        cos[p * headDim + i] = c;
        cos[p * headDim + half + i] = c;
        sin[p * headDim + i] = -sn;
        sin[p * headDim + half + i] = sn;
      }
    }
    return new float[][] {cos, sin};
  }

  /** Training form: differentiable concatenations of the live parameters, attached to {@code target}. */
  private LayerWeights fuse(int i, NDManager target) {
    return new LayerWeights(
        param(TensorNames.inputNorm(i)),
        concat(target, false, TensorNames.qProj(i), TensorNames.kProj(i), TensorNames.vProj(i)),
        param(TensorNames.oProj(i)),
        param(TensorNames.postAttentionNorm(i)),
        concat(target, false, TensorNames.gateProj(i), TensorNames.upProj(i)),
        param(TensorNames.downProj(i)),
        attnScale);
  }

  /**
   * Inference form, gradient-free: W_qkv' = [W_q/√d; W_k; W_v]·diag(w_in), W_gu' = [W_g; W_u]·diag(w_post),
   * so that linear(x/rms(x), W') = linear(rmsNorm(x, w), W) with the scale already applied to q.
   */
  private LayerWeights fold(int i, NDManager target) {
    long q = (long) config.numHeads() * config.headDim();
    long h = config.hiddenSize();
    NDArray qkv = concat(target, true, TensorNames.qProj(i), TensorNames.kProj(i), TensorNames.vProj(i));
    qkv.set(new NDIndex("0:{}, :", q), a -> a.mul(attnScale));
    NDArray inNorm = view(TensorNames.inputNorm(i), target, true).reshape(1, h);
    NDArray postNorm = view(TensorNames.postAttentionNorm(i), target, true).reshape(1, h);
    NDArray gateUp = concat(target, true, TensorNames.gateProj(i), TensorNames.upProj(i));
    NDArray qkvFolded = qkv.mul(inNorm);
    NDArray gateUpFolded = gateUp.mul(postNorm);
    qkv.close(); // only the folded copies are kept
    gateUp.close();
    return new LayerWeights(null, qkvFolded, view(TensorNames.oProj(i), target, true), null, gateUpFolded,
        view(TensorNames.downProj(i), target, true), 1f);
  }

  private NDArray view(String name, NDManager target, boolean detach) {
    if (!detach) {
      return param(name);
    }
    NDArray detached = param(name).stopGradient();
    detached.attach(target);
    return detached;
  }

  private NDArray concat(NDManager target, boolean detach, String... names) {
    NDList parts = new NDList();
    for (String n : names) {
      parts.add(view(n, target, detach));
    }
    NDArray fused = NDArrays.concat(parts, 0);
    fused.attach(target);
    return fused;
  }

  private synchronized InferenceWeights inferenceWeights() {
    if (inference == null) {
      NDManager m = manager.newSubManager();
      List<LayerWeights> layers = new ArrayList<>(config.numLayers());
      for (int i = 0; i < config.numLayers(); i++) {
        layers.add(fold(i, m));
      }
      inference = new InferenceWeights(view(TensorNames.EMBED_TOKENS, m, true), List.copyOf(layers),
          view(TensorNames.FINAL_NORM, m, true), view(lmHeadName(), m, true));
      inferenceManager = m;
    }
    return inference;
  }

  private String lmHeadName() {
    return config.tieWordEmbeddings() ? TensorNames.EMBED_TOKENS : TensorNames.LM_HEAD;
  }

  private NDArray param(String name) {
    return named.get(name).getArray();
  }

  private void checkLength(long t) {
    if (t > ropeLength) {
      throw new IllegalArgumentException("Sequence of " + t + " positions exceeds the model's " + ropeLength
          + " rotary positions");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // DJL Block contract

  /** Block form of {@link #forward}: inputs (inputIds, attentionMask) → (logits, hidden). */
  @Override
  protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training,
      PairList<String, Object> params) {
    ForwardOutput out = forward(inputs.get(0), inputs.get(1));
    return new NDList(out.logits(), out.hidden());
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    long b = inputShapes[0].get(0);
    long t = inputShapes[0].get(1);
    return new Shape[] {new Shape(b, t, config.vocabSize()), new Shape(b, t, config.hiddenSize())};
  }

  /** Frees every native array of the model (parameters, rotary tables, fused weights). */
  @Override
  public void close() {
    parametersUpdated();
    manager.close();
  }
}
