package dev.cai.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import dev.cai.runtime.io.Checkpoint;
import dev.cai.runtime.io.OptimizerState;
import dev.cai.runtime.io.TrainerState;
import dev.cai.runtime.model.GradMode;
import dev.cai.runtime.model.LlamaModel;
import dev.cai.runtime.weights.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Optimizer steps for a {@link LlamaModel} and its scalar heads: forward each micro-batch under a DJL gradient
 * collector, back-propagate its loss scaled by 1/(total weight of the whole batch) so gradients accumulate to
 * exactly the full-batch mean, clip by global norm, take an AdamW step at the scheduled rate, zero the gradients.
 * No dropout exists in the model, so training is deterministic given the data.
 *
 * <p>Threading: one trainer, on one thread; DJL's PyTorch engine allows one gradient collector per JVM at a time.
 */
public final class Trainer implements AutoCloseable {
  /**
   * Held while a step collects gradients: DJL's PyTorch engine allows one {@link GradientCollector} at a time in a
   * JVM, so trainers of one process (the PPO learner, a PM refresh of continual RLAIF) take turns, a step each (fair).
   */
  private static final ReentrantLock COLLECTING = new ReentrantLock(true);

  /** Optimizer, schedule and clipping settings. {@code maxGradNorm} ≤ 0 disables clipping. */
  public record Settings(AdamW.Settings adamW, LinearWarmupDecay schedule, double maxGradNorm) {
    public Settings {
      if (adamW == null || schedule == null) {
        throw new IllegalArgumentException("adamW and schedule settings are required");
      }
      if (Double.isNaN(maxGradNorm)) {
        throw new IllegalArgumentException("maxGradNorm must be a number");
      }
    }
  }

  /** What one optimizer step did: its 1-based number, mean loss, gradient norm before clipping, rate, weight. */
  public record StepResult(long step, double loss, double gradNorm, double lr, double weight) {}

  /**
   * A loss over one micro-batch: {@link #lossSum} returns a differentiable scalar that is a <em>sum</em> over
   * {@link #weight} units (tokens, pairs), so the step can normalise by the weight of the whole batch.
   *
   * <p>Never pass a Java number to an op whose backward reads it ({@code x.mul(0.5f)}, {@code x.pow(2f)},
   * {@code x.div(n)}): DJL backs the number with a direct buffer freed as soon as the op returns, and a garbage
   * collection before backward corrupts the gradient. Create the constant in {@code scratch} instead.
   */
  public interface MicroBatchLoss<T> {
    double weight(T microBatch);

    /** The summed loss; every array must be created in (or attached to) {@code scratch}. */
    NDArray lossSum(NDManager scratch, T microBatch);

    /**
     * Back-propagates this micro-batch's loss divided by {@code batchWeight} (the whole batch's weight, a scalar
     * array) and returns the summed loss. The default is {@link #lossSum} and one backward pass; a loss may
     * override it to back-propagate in pieces.
     */
    default double backward(NDManager scratch, T microBatch, NDArray batchWeight, GradientCollector collector) {
      NDArray sum = lossSum(scratch, microBatch);
      double value = sum.getFloat();
      collector.backward(sum.div(batchWeight)); // accumulates ∂(loss_mb / W)/∂θ
      return value;
    }
  }

  /** Logits per LM-head piece of the causal-LM loss: 2^24 floats (64 MiB), e.g. 341 rows of a 49,152 vocabulary. */
  static final int LM_HEAD_PIECE_FLOATS = 1 << 24;

  private static final NDIndex ALL = new NDIndex("...");

  private final LlamaModel model;
  private final List<ScalarHead> heads;
  private final Settings settings;
  private final NDManager optimizerManager;
  private final AdamW optimizer;
  private final Map<String, NDArray> params;

  /** A trainer over every parameter of {@code model} and {@code heads}; marks them as requiring gradients. */
  public Trainer(LlamaModel model, List<ScalarHead> heads, Settings settings) {
    this.model = model;
    this.heads = List.copyOf(heads);
    this.settings = settings;
    Map<String, NDArray> all = new LinkedHashMap<>(model.namedParameters());
    for (ScalarHead h : this.heads) {
      for (Map.Entry<String, NDArray> e : h.namedParameters().entrySet()) {
        if (all.put(e.getKey(), e.getValue()) != null) {
          throw new IllegalArgumentException("Head parameter '" + e.getKey() + "' clashes with another parameter");
        }
      }
    }
    this.params = Collections.unmodifiableMap(all);
    params.values().forEach(p -> p.setRequiresGradient(true));
    this.optimizerManager = model.manager().newSubManager();
    this.optimizer = new AdamW(settings.adamW(), optimizerManager);
  }

  public LlamaModel model() {
    return model;
  }

  public Settings settings() {
    return settings;
  }

  /** Optimizer steps taken (also the schedule position). */
  public long step() {
    return optimizer.step();
  }

  /** Every trained parameter by checkpoint name (model, then heads); live arrays. */
  public Map<String, NDArray> parameters() {
    return params;
  }

  /**
   * The causal-LM loss on response tokens (see {@link CausalLmLoss}), weighted by target-token count. Its backward
   * runs the LM head and loss in pieces of rows, so only one piece of [rows, vocab] logits is alive at a time.
   */
  public MicroBatchLoss<TokenBatch> causalLmLoss() {
    return causalLmLoss(Math.max(1, LM_HEAD_PIECE_FLOATS / model.config().vocabSize()));
  }

  /** {@link #causalLmLoss()} with {@code pieceRows} target rows per LM-head piece. */
  MicroBatchLoss<TokenBatch> causalLmLoss(int pieceRows) {
    int vocab = model.config().vocabSize();
    return new MicroBatchLoss<>() {
      @Override
      public double weight(TokenBatch b) {
        return b.targetCount();
      }

      @Override
      public NDArray lossSum(NDManager scratch, TokenBatch b) {
        CausalLmLoss.Targets targets = targets(b);
        return CausalLmLoss.nllSumOfRows(model.logits(targetRows(scratch, b, targets)), targets);
      }

      @Override
      public double backward(NDManager scratch, TokenBatch b, NDArray batchWeight, GradientCollector collector) {
        CausalLmLoss.Targets targets = targets(b);
        NDArray rows = targetRows(scratch, b, targets); // [n, hidden], still in the decoder's graph
        // Cut the graph at the rows: each piece back-propagates LM head + loss into rows', then rows' gradient is
        // sent through the decoder once: ∂L/∂θ = Σ_pieces ∂L_p/∂θ_head + (∂L/∂rows)·∂rows/∂θ.
        NDArray cut = rows.stopGradient();
        cut.setRequiresGradient(true);
        double sum = 0;
        for (int from = 0; from < targets.count(); from += pieceRows) {
          int to = Math.min(targets.count(), from + pieceRows);
          try (NDManager piece = scratch.newSubManager()) {
            NDArray x = cut.get(piece, new NDIndex("{}:{}", from, to));
            NDArray s = CausalLmLoss.nllSumOfRows(model.logits(x), targets.slice(from, to));
            sum += s.getFloat();
            collector.backward(s.div(batchWeight));
          }
        }
        try (NDArray rowsGrad = cut.getGradient()) {
          collector.backward(rows.mul(rowsGrad).sum());
        }
        return sum;
      }

      private CausalLmLoss.Targets targets(TokenBatch b) {
        for (int id : b.inputIds()) {
          if (id >= vocab) {
            throw new IllegalArgumentException("Token id " + id + " is outside the vocabulary of " + vocab);
          }
        }
        return CausalLmLoss.targets(b.inputIds(), b.lossMask(), b.batchSize(), b.seqLen());
      }

      /** Final hidden states of the positions that predict a response token (only these need the LM head). */
      private NDArray targetRows(NDManager scratch, TokenBatch b, CausalLmLoss.Targets targets) {
        NDArray hidden = model.forwardHidden(b.inputIds(scratch), b.attentionMask(scratch));
        return CausalLmLoss.selectRows(hidden, targets);
      }
    };
  }

  /** One supervised fine-tuning step over {@code microBatches} (gradient accumulation across them). */
  public StepResult sftStep(List<TokenBatch> microBatches) {
    return step(microBatches, causalLmLoss());
  }

  /**
   * One optimizer step over {@code microBatches} with {@code loss}. If the gradient norm is not finite the
   * gradients are dropped, nothing is updated, and an {@link IllegalStateException} says so.
   */
  public <T> StepResult step(List<T> microBatches, MicroBatchLoss<T> loss) {
    if (microBatches.isEmpty()) {
      throw new IllegalArgumentException("A step needs at least one micro-batch");
    }
    double total = 0;
    for (T mb : microBatches) {
      total += loss.weight(mb);
    }
    if (!(total > 0)) {
      throw new IllegalArgumentException("The batch has nothing to learn (total loss weight " + total + ")");
    }
    double lossSum = 0;
    COLLECTING.lock(); // DJL allows one gradient collector per JVM: trainers of one process take turns per step
    try (GradientCollector collector = model.manager().getEngine().newGradientCollector()) {
      for (T mb : microBatches) {
        try (NDManager scratch = model.manager().newSubManager()) {
          // The divisor is an array of scratch, not a Java number: DJL turns a number into a tensor over a direct
          // buffer that it frees right after the op, while autograd keeps reading it in backward.
          NDArray weight = scratch.create((float) total);
          lossSum += loss.backward(scratch, mb, weight, collector); // accumulates ∂(Σ_mb loss_mb / W)/∂θ
        }
      }
    } catch (RuntimeException e) {
      zeroGradients();
      throw e;
    } finally {
      COLLECTING.unlock();
    }
    // Grad mode is off again: parameters may be updated in place.
    double total2 = total;
    double lossSum2 = lossSum;
    return GradMode.disabled(() -> {
      try (NDManager grads = model.manager().newSubManager()) {
        Map<String, NDArray> g = gradients(grads);
        double norm = GradientClipping.clipInPlace(g.values(), settings.maxGradNorm());
        if (!Double.isFinite(norm)) {
          String first = firstNonFinite(g);
          fillZero(g.values()); // g − g would keep NaN and ±∞
          throw new IllegalStateException("Gradient norm is " + norm + " at step " + (step() + 1) + " (first non-finite"
              + " gradient: " + first + ", loss " + lossSum2 / total2 + "); the step was skipped and the weights are unchanged");
        }
        long t = optimizer.step() + 1;
        double lr = settings.schedule().lrAt(t);
        optimizer.step(params, g, lr);
        zero(g.values());
        model.parametersUpdated();
        return new StepResult(t, lossSum2 / total2, norm, lr, total2);
      }
    });
  }

  /** Live gradient arrays of every parameter, as handles owned by {@code owner}. */
  private Map<String, NDArray> gradients(NDManager owner) {
    Map<String, NDArray> out = new LinkedHashMap<>();
    params.forEach((k, p) -> {
      NDArray g = p.getGradient();
      g.attach(owner);
      out.put(k, g);
    });
    return out;
  }

  private static String firstNonFinite(Map<String, NDArray> grads) {
    for (Map.Entry<String, NDArray> e : grads.entrySet()) {
      if (!Double.isFinite(GradientClipping.squaredNorm(e.getValue()))) {
        return e.getKey();
      }
    }
    return "none";
  }

  private void zeroGradients() {
    try (NDManager grads = model.manager().newSubManager()) {
      fillZero(gradients(grads).values());
    }
  }

  /** Zeroes finite gradients in place (g ← g − g keeps the arrays autograd accumulates into). */
  private static void zero(Iterable<NDArray> grads) {
    for (NDArray g : grads) {
      g.subi(g);
    }
  }

  /** Zeroes gradients whatever they hold, NaN and ±∞ included. */
  private static void fillZero(Iterable<NDArray> grads) {
    for (NDArray g : grads) {
      g.set(ALL, 0f);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Checkpoints

  /**
   * A host snapshot of weights, heads, optimizer moments and trainer state. {@code examplesSeen} and
   * {@code rngState} come from the caller's data loop; the schedule settings are recorded in {@code extra}.
   */
  public Checkpoint checkpoint(long examplesSeen, long rngState, Map<String, String> extra,
      Optional<Path> tokenizerJson) {
    Map<String, HostTensor> headTensors = new LinkedHashMap<>();
    heads.forEach(h -> headTensors.putAll(h.export()));
    Map<String, String> all = stateAttributes(extra);
    return new Checkpoint(model.exportWeights("trainer step " + step()), headTensors,
        Optional.of(optimizer.exportState()),
        Optional.of(new TrainerState(step(), examplesSeen, rngState, all)), tokenizerJson);
  }

  /**
   * Visits host copies of the whole trained state one tensor at a time, so that at most one tensor is copied to the
   * heap at once: by part ({@code weights}, {@code heads}, {@code adam.m}, {@code adam.v}), names sorted within a
   * part. The parts and names are those of {@link #checkpoint} (its model tensors, heads and optimizer moments).
   */
  public void exportState(StateVisitor visitor) {
    Map<String, NDArray> headParams = new LinkedHashMap<>();
    heads.forEach(h -> headParams.putAll(h.namedParameters()));
    for (String name : model.namedParameters().keySet().stream().sorted().toList()) {
      visitor.visit("weights", host(name, model.namedParameters().get(name)));
    }
    for (String name : headParams.keySet().stream().sorted().toList()) {
      visitor.visit("heads", host(name, headParams.get(name)));
    }
    List<String> moments = optimizer.momentNames();
    for (String name : moments) {
      visitor.visit("adam.m", optimizer.moment(name, true));
    }
    for (String name : moments) {
      visitor.visit("adam.v", optimizer.moment(name, false));
    }
  }

  /** Floats {@link #exportState} visits: weights, heads and, once the optimizer has moments, two per parameter. */
  public long stateFloats() {
    long params = model.namedParameters().values().stream().mapToLong(NDArray::size).sum()
        + heads.stream().flatMap(h -> h.namedParameters().values().stream()).mapToLong(NDArray::size).sum();
    return params * (optimizer.momentNames().isEmpty() ? 1 : 3);
  }

  /** Receives one state tensor of {@link #exportState}. */
  @FunctionalInterface
  public interface StateVisitor {
    void visit(String part, HostTensor tensor);
  }

  /**
   * Starts loading a state that {@link #exportState} wrote, one tensor at a time, so that no host copy of the whole
   * state is ever made: drops the optimizer's moments now; {@link StateImport#tensor} copies each tensor into the live
   * parameter (or a new moment) and {@link StateImport#finish} checks that every parameter was loaded. A failed import
   * leaves the trainer with a mix of states: close it and its model.
   */
  public StateImport importState() {
    return new StateImport();
  }

  /** One import of a saved state into this trainer's arrays (see {@link #importState}). */
  public final class StateImport {
    private final Set<String> loaded = new HashSet<>();
    // One direct buffer reused for every tensor (grown to the largest): the engine reads a tensor from it, then the
    // values are copied into arrays the engine owns, so neither the heap nor Java's direct memory holds the state.
    private ByteBuffer staging = ByteBuffer.allocateDirect(0);

    private StateImport() {
      optimizer.beginImport();
    }

    /**
     * Copies tensor {@code name} of {@code part} ({@code weights}, {@code heads}, {@code adam.m} or {@code adam.v},
     * as {@link #exportState} names them) from {@code data}: its float32 values, little-endian. A tensor that names no
     * parameter of that part, has another shape or comes twice is an {@link IllegalArgumentException}.
     */
    public void tensor(String part, String name, long[] shape, ByteBuffer data) {
      NDArray param = params.get(name);
      boolean modelParam = model.namedParameters().containsKey(name);
      boolean known = switch (part) {
        case "weights" -> modelParam;
        case "heads" -> param != null && !modelParam;
        case "adam.m", "adam.v" -> param != null;
        default -> throw new IllegalArgumentException("Unknown part '" + part + "' of a trainer state");
      };
      if (!known) {
        throw new IllegalArgumentException("'" + name + "' is no " + (part.startsWith("adam") ? "trained parameter"
            : part.equals("heads") ? "head parameter" : "model parameter") + " of this trainer");
      }
      if (!Arrays.equals(shape, param.getShape().getShape())) {
        throw new IllegalArgumentException("'" + name + "' has shape " + Arrays.toString(shape)
            + " but the parameter has " + param.getShape());
      }
      boolean weight = !part.startsWith("adam");
      if (weight && !loaded.add(name)) {
        throw new IllegalArgumentException("'" + name + "' comes twice");
      }
      GradMode.disabled(() -> {
        try (NDArray values = stage(name, param, data)) {
          if (weight) {
            param.set(new NDIndex("..."), values); // in place: same array, so optimizer references stay valid
          } else {
            optimizer.importMoment(name, part.equals("adam.m"), values);
          }
        }
      });
    }

    /** An array over the staging buffer holding {@code data} (little-endian float32 with {@code param}'s shape). */
    private NDArray stage(String name, NDArray param, ByteBuffer data) {
      long bytes = param.size() * Float.BYTES;
      if (data.remaining() != bytes) {
        throw new IllegalArgumentException("'" + name + "' has " + data.remaining() + " bytes, expected "
            + bytes);
      }
      if (staging.capacity() < bytes) {
        staging = ByteBuffer.allocateDirect(Math.toIntExact(bytes));
      }
      ByteBuffer view = staging.slice(0, (int) bytes).order(ByteOrder.nativeOrder());
      view.asFloatBuffer().put(data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
      return model.manager().create(view, param.getShape(), DataType.FLOAT32);
    }

    /** Ends the import with optimizer step {@code step}: every parameter must have been loaded. */
    public void finish(long step) {
      List<String> missing = params.keySet().stream().filter(k -> !loaded.contains(k)).sorted().toList();
      if (!missing.isEmpty()) {
        throw new IllegalArgumentException("the state lacks " + missing.size() + " parameter(s): "
            + (missing.size() > 5 ? missing.subList(0, 5) + " …" : missing));
      }
      optimizer.finishImport(step);
      model.parametersUpdated();
      staging = null;
    }
  }

  /** {@code extra} plus the schedule and clipping settings, as {@link #checkpoint} records them in its trainer state. */
  public Map<String, String> stateAttributes(Map<String, String> extra) {
    Map<String, String> all = new HashMap<>(extra);
    LinearWarmupDecay s = settings.schedule();
    all.put("schedule.peak_lr", Double.toString(s.peakLr()));
    all.put("schedule.warmup_steps", Long.toString(s.warmupSteps()));
    all.put("schedule.total_steps", Long.toString(s.totalSteps()));
    all.put("schedule.final_fraction", Double.toString(s.finalFraction()));
    all.put("max_grad_norm", Double.toString(settings.maxGradNorm()));
    return all;
  }

  /** The optimizer's hyperparameters as {@link #checkpoint} records them. */
  public Map<String, String> optimizerHyperparameters() {
    return optimizer.hyperparameters();
  }

  private static HostTensor host(String name, NDArray a) {
    return new HostTensor(name, a.getShape().getShape(), a.toFloatArray());
  }

  /** Loads weights, heads and optimizer state (fresh if the checkpoint has none) from {@code c} into this trainer's arrays. */
  public void restore(Checkpoint c) {
    GradMode.disabled(() -> {
      model.loadWeights(c.model());
      List<String> missing = new ArrayList<>();
      for (ScalarHead h : heads) {
        if (!c.heads().containsKey(ScalarHead.weightName(h.name()))) {
          missing.add(h.name());
        }
      }
      if (!missing.isEmpty()) {
        throw new IllegalArgumentException("Checkpoint of " + c.model().source() + " has no heads " + missing);
      }
      heads.forEach(h -> h.load(c.heads()));
      // Without saved moments the optimizer starts afresh (step 0), as for a new run from these weights.
      optimizer.importState(c.optimizer().orElse(new OptimizerState(0, Map.of(), Map.of(), Map.of())), params);
    });
  }

  /** Frees the optimizer moments; the model and heads belong to the caller. */
  @Override
  public void close() {
    optimizer.close(); // moments first, then their manager
    optimizerManager.close();
  }
}
