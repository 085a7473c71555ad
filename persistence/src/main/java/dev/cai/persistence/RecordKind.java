package dev.cai.persistence;

import com.google.protobuf.Message;
import dev.cai.protocol.Codec;
import dev.cai.protocol.Codecs;
import dev.cai.protocol.v1.Comparison;
import dev.cai.protocol.v1.Prompt;
import dev.cai.protocol.v1.Rollout;
import dev.cai.protocol.v1.SlExample;
import java.util.List;
import java.util.Objects;

/**
 * A kind of record appended to a run in insertion order: the column family that holds it and the
 * codec of its Protobuf message. Records of a kind are keyed by a big-endian sequence number.
 *
 * @param <M> the Protobuf message of the record
 */
public final class RecordKind<M extends Message> {
  /** Prompts read from the run's sources. */
  public static final RecordKind<Prompt> PROMPTS = new RecordKind<>("prompts", Codecs.PROMPT);
  /** Supervised examples of the SL-CAI phase (prompt, critique/revision rounds, final revision). */
  public static final RecordKind<SlExample> SL_EXAMPLES = new RecordKind<>("sl_examples", Codecs.SL_EXAMPLE);
  /** AI-feedback comparisons with their soft labels. */
  public static final RecordKind<Comparison> COMPARISONS = new RecordKind<>("comparisons", Codecs.COMPARISON);
  /** PPO rollouts with their per-token quantities. */
  public static final RecordKind<Rollout> ROLLOUTS = new RecordKind<>("rollouts", Codecs.ROLLOUT);

  private static final List<RecordKind<?>> ALL = List.of(PROMPTS, SL_EXAMPLES, COMPARISONS, ROLLOUTS);

  private final String columnFamily;
  private final Codec<M> codec;

  private RecordKind(String columnFamily, Codec<M> codec) {
    this.columnFamily = Objects.requireNonNull(columnFamily);
    this.codec = Objects.requireNonNull(codec);
  }

  /** Every record kind, in a fixed order. */
  public static List<RecordKind<?>> all() {
    return ALL;
  }

  /** The kind stored in {@code columnFamily}. */
  public static RecordKind<?> byColumnFamily(String columnFamily) {
    return ALL.stream().filter(kind -> kind.columnFamily.equals(columnFamily)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no record kind '" + columnFamily + "'; known: "
            + ALL.stream().map(RecordKind::columnFamily).toList()));
  }

  public String columnFamily() {
    return columnFamily;
  }

  public Codec<M> codec() {
    return codec;
  }

  @Override
  public String toString() {
    return columnFamily + "(" + codec.typeName() + ")";
  }
}
