package dev.cai.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.cai.runtime.io.OptimizerState;
import dev.cai.runtime.weights.HostTensor;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * AdamW: Adam with decoupled weight decay (Loshchilov &amp; Hutter 2019, "Decoupled Weight Decay Regularization",
 * https://arxiv.org/abs/1711.05101), with bias correction, computed like {@code torch.optim.AdamW}. Moments live
 * next to the parameters (same device) and are exported/imported exactly for checkpoints. Weight decay applies to
 * matrices only (rank ≥ 2); norms and biases are not decayed.
 */
public final class AdamW implements AutoCloseable {

  /** Hyperparameters; the learning rate comes from the schedule at each step. */
  public record Settings(double beta1, double beta2, double eps, double weightDecay) {
    public Settings {
      if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
        throw new IllegalArgumentException("AdamW betas must be in [0, 1), got " + beta1 + ", " + beta2);
      }
      if (!(eps > 0)) {
        throw new IllegalArgumentException("AdamW eps must be > 0, got " + eps);
      }
      if (!(weightDecay >= 0)) {
        throw new IllegalArgumentException("AdamW weightDecay must be >= 0, got " + weightDecay);
      }
    }

    /** β₁ = 0.9, β₂ = 0.999, ε = 1e-8, λ = 0.0 (no decay), as torch's defaults for Adam. */
    public static Settings defaults() {
      return new Settings(0.9, 0.999, 1e-8, 0.0);
    }

    Map<String, String> asMetadata() {
      return Map.of("beta1", Double.toString(beta1), "beta2", Double.toString(beta2), "eps", Double.toString(eps),
          "weight_decay", Double.toString(weightDecay));
    }
  }

  private final Settings settings;
  private final NDManager manager;
  private final Map<String, NDArray> firstMoments = new LinkedHashMap<>();
  private final Map<String, NDArray> secondMoments = new LinkedHashMap<>();
  private long step;

  /** An optimizer whose moments are created (zero) in {@code manager} on first use of each parameter. */
  public AdamW(Settings settings, NDManager manager) {
    this.settings = settings;
    this.manager = manager;
  }

  public Settings settings() {
    return settings;
  }

  /** Updates taken so far (t of the last update). */
  public long step() {
    return step;
  }

  // ---------------------------------------------------------------------------------------------
  // The update, as in the paper (Algorithm 2) and torch.optim.AdamW

  /** 1 − βᵗ: divides the moment to undo its zero initialisation. */
  public static double biasCorrection(double beta, long t) {
    return 1.0 - Math.pow(beta, t);
  }

  /**
   * One in-place AdamW update of {@code param} at step {@code t} (1-based) with gradient {@code grad}:
   * <pre>
   *   θ ← θ − η·λ·θ                         (decoupled weight decay; λ = 0 for vectors)
   *   m ← β₁·m + (1 − β₁)·g
   *   v ← β₂·v + (1 − β₂)·g²
   *   θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
   * </pre>
   */
  public static void update(NDArray param, NDArray grad, NDArray m, NDArray v, long t, double lr,
      double weightDecay, Settings s) {
    if (weightDecay != 0) {
      param.muli((float) (1.0 - lr * weightDecay));
    }
    try (NDArray g1 = grad.mul((float) (1.0 - s.beta1()))) {
      m.muli((float) s.beta1()).addi(g1);
    }
    try (NDArray g2 = grad.square()) {
      g2.muli((float) (1.0 - s.beta2()));
      v.muli((float) s.beta2()).addi(g2);
    }
    double stepSize = lr / biasCorrection(s.beta1(), t);
    double bc2Sqrt = Math.sqrt(biasCorrection(s.beta2(), t));
    try (NDArray denom = v.sqrt()) {
      denom.divi((float) bc2Sqrt).addi((float) s.eps());
      try (NDArray delta = m.div(denom)) {
        delta.muli((float) stepSize);
        param.subi(delta);
      }
    }
  }

  /** The decay rate this optimizer applies to a parameter of the given shape: λ for matrices, 0 otherwise. */
  public double weightDecayFor(Shape shape) {
    return shape.dimension() >= 2 ? settings.weightDecay() : 0.0;
  }

  /**
   * Takes one step over every parameter in {@code params} with its gradient in {@code grads} (same keys) at
   * learning rate {@code lr}; parameters and moments are updated in place. Call outside a gradient collector.
   */
  public void step(Map<String, NDArray> params, Map<String, NDArray> grads, double lr) {
    if (!(lr >= 0) || Double.isInfinite(lr)) {
      throw new IllegalArgumentException("Learning rate must be finite and >= 0, got " + lr);
    }
    long t = step + 1;
    for (Map.Entry<String, NDArray> e : params.entrySet()) {
      NDArray grad = grads.get(e.getKey());
      if (grad == null) {
        throw new IllegalArgumentException("No gradient for parameter '" + e.getKey() + "'");
      }
      NDArray p = e.getValue();
      NDArray m = firstMoments.computeIfAbsent(e.getKey(), k -> manager.zeros(p.getShape(), p.getDataType()));
      NDArray v = secondMoments.computeIfAbsent(e.getKey(), k -> manager.zeros(p.getShape(), p.getDataType()));
      update(p, grad, m, v, t, lr, weightDecayFor(p.getShape()), settings);
    }
    step = t;
  }

  // ---------------------------------------------------------------------------------------------
  // Checkpoints

  /** Names of the parameters that have moments, sorted. */
  public List<String> momentNames() {
    return firstMoments.keySet().stream().sorted().toList();
  }

  /** A host copy of one moment: the first ({@code m}) or the second ({@code v}) of parameter {@code name}. */
  public HostTensor moment(String name, boolean first) {
    NDArray a = (first ? firstMoments : secondMoments).get(name);
    if (a == null) {
      throw new IllegalArgumentException("No moment for parameter '" + name + "'");
    }
    return new HostTensor(name, a.getShape().getShape(), a.toFloatArray());
  }

  /** The settings as recorded in checkpoints. */
  public Map<String, String> hyperparameters() {
    return settings.asMetadata();
  }

  /** A host copy of the step and every moment. */
  public OptimizerState exportState() {
    Map<String, HostTensor> m = new LinkedHashMap<>();
    Map<String, HostTensor> v = new LinkedHashMap<>();
    firstMoments.forEach((k, a) -> m.put(k, new HostTensor(k, a.getShape().getShape(), a.toFloatArray())));
    secondMoments.forEach((k, a) -> v.put(k, new HostTensor(k, a.getShape().getShape(), a.toFloatArray())));
    return new OptimizerState(step, m, v, settings.asMetadata());
  }

  /**
   * Replaces step and moments with {@code state}; each moment must match a parameter in {@code params} by name
   * and shape (moments of parameters not in the state start at zero, as for a new parameter).
   */
  public void importState(OptimizerState state, Map<String, NDArray> params) {
    Map<String, NDArray> newM = new HashMap<>();
    Map<String, NDArray> newV = new HashMap<>();
    try {
      for (String name : state.firstMoments().keySet()) {
        NDArray p = params.get(name);
        if (p == null) {
          throw new IllegalArgumentException("Optimizer state has moments for unknown parameter '" + name + "'");
        }
        newM.put(name, toDevice(state.firstMoments().get(name), p.getShape(), name));
        newV.put(name, toDevice(state.secondMoments().get(name), p.getShape(), name));
      }
    } catch (RuntimeException e) {
      newM.values().forEach(NDArray::close);
      newV.values().forEach(NDArray::close);
      throw e;
    }
    clearMoments();
    firstMoments.putAll(newM);
    secondMoments.putAll(newV);
    step = state.step();
  }

  /** Drops the step and every moment before a saved state is loaded moment by moment ({@link #importMoment}). */
  public void beginImport() {
    clearMoments();
    step = 0;
  }

  /**
   * Copies {@code values} into a new first ({@code m}) or second ({@code v}) moment of parameter {@code name},
   * allocated by the engine (not backed by a Java buffer); the caller has checked name and shape against the parameter.
   */
  public void importMoment(String name, boolean first, NDArray values) {
    Map<String, NDArray> moments = first ? firstMoments : secondMoments;
    if (moments.containsKey(name)) {
      throw new IllegalArgumentException("Optimizer state has the " + (first ? "first" : "second") + " moment of '"
          + name + "' twice");
    }
    NDArray moment = manager.zeros(values.getShape(), values.getDataType());
    moment.set(new NDIndex("..."), values); // an in-place copy into the moment's own memory
    moments.put(name, moment);
  }

  /** Ends an import ({@link #beginImport}): every parameter with a first moment has a second one and vice versa. */
  public void finishImport(long step) {
    if (!firstMoments.keySet().equals(secondMoments.keySet())) {
      Set<String> unpaired = new TreeSet<>(firstMoments.keySet());
      unpaired.addAll(secondMoments.keySet());
      unpaired.removeIf(k -> firstMoments.containsKey(k) && secondMoments.containsKey(k));
      throw new IllegalArgumentException("Optimizer state has only one of the two moments of " + unpaired);
    }
    if (step < 0) {
      throw new IllegalArgumentException("Optimizer step must be >= 0, got " + step);
    }
    this.step = step;
  }

  private NDArray toDevice(HostTensor t, Shape expected, String name) {
    if (!Arrays.equals(t.shape(), expected.getShape())) {
      throw new IllegalArgumentException("Optimizer moment of '" + name + "' has shape " + Arrays.toString(t.shape())
          + " but the parameter has " + expected);
    }
    return manager.create(FloatBuffer.wrap(t.data()), expected);
  }

  private void clearMoments() {
    firstMoments.values().forEach(NDArray::close);
    secondMoments.values().forEach(NDArray::close);
    firstMoments.clear();
    secondMoments.clear();
  }

  /** Frees the moments; the manager belongs to the caller. */
  @Override
  public void close() {
    clearMoments();
  }
}
