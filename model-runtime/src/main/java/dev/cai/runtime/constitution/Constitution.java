package dev.cai.runtime.constitution;

import dev.cai.protocol.v1.ConstitutionRef;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The rules the model is trained to follow (Bai et al. 2022, https://arxiv.org/abs/2212.08073):
 * critique/revision pairs for the SL phase, multiple-choice principles for AI-feedback labeling,
 * and few-shot demonstrations for both. Built by {@link ConstitutionLoader}, which validates it.
 */
public record Constitution(
    String name,
    String version,
    List<CritiqueRevision> critiqueRevisions,
    List<Principle> principles,
    List<CritiqueExample> critiqueExamples,
    List<LabelingExample> labelingExamples,
    List<ChainOfThoughtExample> chainOfThoughtExamples,
    String contentSha256) {

  /** One SL-phase rule: a critique request and the revision request that answers it. */
  public record CritiqueRevision(String id, String critique, String revision) {}

  /** One RL-phase multiple-choice principle. */
  public record Principle(String id, String text) {}

  /**
   * A critique/revision demonstration: a conversation, the rule applied (normally one of
   * {@link #critiqueRevisions()}, possibly one of its own), the critique and the revision.
   */
  public record CritiqueExample(Transcript conversation, CritiqueRevision rule, String critique, String revision) {}

  /** An A/B labeling demonstration: a conversation and a better and a worse final assistant reply. */
  public record LabelingExample(Transcript conversation, String better, String worse) {}

  /** A chain-of-thought labeling demonstration: like {@link LabelingExample} plus the reasoning. */
  public record ChainOfThoughtExample(Transcript conversation, String better, String worse, String reasoning) {}

  public Constitution {
    critiqueRevisions = List.copyOf(critiqueRevisions);
    principles = List.copyOf(principles);
    critiqueExamples = List.copyOf(critiqueExamples);
    labelingExamples = List.copyOf(labelingExamples);
    chainOfThoughtExamples = List.copyOf(chainOfThoughtExamples);
  }

  /** The reference recorded on every record produced with this constitution. */
  public ConstitutionRef ref() {
    return ConstitutionRef.newBuilder().setId(name).setVersion(version).setContentSha256(contentSha256).build();
  }

  public CritiqueRevision critiqueRevision(String id) {
    return byId(critiqueRevisions, CritiqueRevision::id).get(id);
  }

  public Principle principle(String id) {
    return byId(principles, Principle::id).get(id);
  }

  static <T> Map<String, T> byId(List<T> items, Function<T, String> id) {
    return items.stream().collect(Collectors.toMap(id, Function.identity()));
  }
}
