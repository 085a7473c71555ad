package dev.cai.runtime.constitution;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.cai.runtime.constitution.Constitution.ChainOfThoughtExample;
import dev.cai.runtime.constitution.Constitution.CritiqueExample;
import dev.cai.runtime.constitution.Constitution.CritiqueRevision;
import dev.cai.runtime.constitution.Constitution.LabelingExample;
import dev.cai.runtime.constitution.Constitution.Principle;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Adapter for the prompt files released with the CAI paper (github.com/anthropics/ConstitutionalHarmlessnessPaper,
 * folder {@code prompts/}): a directory with {@code CritiqueRevisionInstructions.json} and
 * {@code RLMadisonInstructions.json}, and optionally the three few-shot files. Texts are kept verbatim
 * except for the framing ({@code CritiqueRequest:}, {@code Options:}, ...) that cai's prompt builders add.
 */
public final class PaperConstitution {
  static final String INSTRUCTIONS = "CritiqueRevisionInstructions.json";
  static final String PRINCIPLES = "RLMadisonInstructions.json";
  static final String CRITIQUE_FEW_SHOT = "CritiqueRevisionFewShotPrompts.json";
  static final String LABELING_FEW_SHOT = "RLMadisonFewShotPrompts.json";
  static final String COT_FEW_SHOT = "RLMadisonPrecogFewShotPrompts.json";

  private static final String CRITIQUE_REQUEST = "\n\nCritiqueRequest:";
  private static final String CRITIQUE = "\n\nCritique:";
  private static final String REVISION_REQUEST = "\n\nRevisionRequest:";
  private static final String REVISION = "\n\nRevision:";

  private PaperConstitution() {}

  /** Loads the paper's prompt directory as a constitution named {@code cai-paper}. */
  public static Constitution load(Path dir) {
    Path instructions = dir.resolve(INSTRUCTIONS);
    List<CritiqueRevision> pairs = new ArrayList<>();
    for (Map.Entry<String, JsonElement> e : object(instructions).entrySet()) {
      String where = e.getKey();
      JsonObject v = asObject(e.getValue(), instructions, where);
      JsonArray prompt = field(v, "prompt", instructions, where).getAsJsonArray();
      if (prompt.isEmpty()) {
        throw error(instructions, where + ".prompt is empty");
      }
      pairs.add(new CritiqueRevision(e.getKey(),
          unframe(prompt.get(0).getAsString(), CRITIQUE_REQUEST, CRITIQUE, instructions, where + ".prompt[0]"),
          unframe(field(v, "edit_request", instructions, where).getAsString(), REVISION_REQUEST, REVISION,
              instructions, where + ".edit_request")));
    }

    Path principlesFile = dir.resolve(PRINCIPLES);
    List<Principle> principles = new ArrayList<>();
    JsonArray rawPrinciples = array(principlesFile);
    for (int i = 0; i < rawPrinciples.size(); i++) {
      String text = rawPrinciples.get(i).getAsString().strip();
      if (text.endsWith("Options:")) {
        text = text.substring(0, text.length() - "Options:".length()).strip();
      }
      principles.add(new Principle("rl" + i, text));
    }

    List<CritiqueExample> critiqueExamples = optional(dir.resolve(CRITIQUE_FEW_SHOT))
        .map(f -> critiqueExamples(f, array(f), pairs)).orElse(List.of());
    List<LabelingExample> labeling = optional(dir.resolve(LABELING_FEW_SHOT))
        .map(f -> labelingExamples(f, array(f))).orElse(List.of());
    List<ChainOfThoughtExample> cot = optional(dir.resolve(COT_FEW_SHOT))
        .map(f -> chainOfThoughtExamples(f, array(f))).orElse(List.of());
    if (pairs.isEmpty() || principles.isEmpty()) {
      throw error(pairs.isEmpty() ? instructions : principlesFile, "no entries");
    }
    return ConstitutionLoader.build("cai-paper", "bai-2022", pairs, principles, critiqueExamples, labeling, cot);
  }

  private static List<CritiqueExample> critiqueExamples(Path file, JsonArray raw, List<CritiqueRevision> pairs) {
    Map<String, CritiqueRevision> byCritique = Constitution.byId(pairs, CritiqueRevision::critique);
    List<CritiqueExample> out = new ArrayList<>();
    for (int i = 0; i < raw.size(); i++) {
      String s = raw.get(i).getAsString();
      String where = "[" + i + "]";
      int cr = s.indexOf(CRITIQUE_REQUEST);
      int c = s.indexOf(CRITIQUE, cr + 1);
      int rr = s.indexOf(REVISION_REQUEST, c + 1);
      int r = s.indexOf(REVISION, rr + 1);
      if (cr < 0 || c < 0 || rr < 0 || r < 0) {
        throw error(file, where + " lacks one of CritiqueRequest:/Critique:/RevisionRequest:/Revision:");
      }
      int end = s.indexOf(Transcript.HUMAN_TAG, r);
      String critiqueRequest = s.substring(cr + CRITIQUE_REQUEST.length(), c).strip();
      String revisionRequest = s.substring(rr + REVISION_REQUEST.length(), r).strip();
      CritiqueRevision rule = byCritique.getOrDefault(critiqueRequest,
          new CritiqueRevision("few-shot-" + i, critiqueRequest, revisionRequest));
      Transcript conversation = transcript(s.substring(0, cr), file, where);
      out.add(new CritiqueExample(conversation, rule, s.substring(c + CRITIQUE.length(), rr).strip(),
          (end < 0 ? s.substring(r + REVISION.length()) : s.substring(r + REVISION.length(), end)).strip()));
    }
    return out;
  }

  private static List<LabelingExample> labelingExamples(Path file, JsonArray raw) {
    List<LabelingExample> out = new ArrayList<>();
    for (int i = 0; i < raw.size(); i++) {
      String where = "[" + i + "]";
      JsonObject o = asObject(raw.get(i), file, where);
      Transcript conversation = transcript(field(o, "prompt", file, where).getAsString(), file, where + ".prompt");
      out.add(new LabelingExample(conversation, first(o, "corrects", file, where), first(o, "incorrects", file, where)));
    }
    return out;
  }

  /** Parses the paper's chain-of-thought prompts: H/A conversation, {@code {}}, options, reasoning, answer. */
  private static List<ChainOfThoughtExample> chainOfThoughtExamples(Path file, JsonArray raw) {
    List<ChainOfThoughtExample> out = new ArrayList<>();
    for (int i = 0; i < raw.size(); i++) {
      String where = "[" + i + "].prompt";
      String s = field(asObject(raw.get(i), file, where), "prompt", file, where).getAsString();
      int convStart = s.indexOf("\n\nH:");
      int placeholder = s.indexOf("{}");
      int a = s.indexOf("(A) [[[");
      int b = s.indexOf("(B) [[[");
      int think = s.indexOf("step by step:");
      int answer = s.lastIndexOf("So the answer is: (");
      if (convStart < 0 || placeholder < 0 || a < 0 || b < 0 || think < 0 || answer < 0) {
        throw error(file, where + " is not in the expected chain-of-thought format");
      }
      Transcript conversation = Transcript.parse(s.substring(convStart, placeholder), "\n\nH:", "\n\nA:");
      String optionA = s.substring(a + 7, s.indexOf("]]]", a)).strip();
      String optionB = s.substring(b + 7, s.indexOf("]]]", b)).strip();
      int reasoningEnd = s.lastIndexOf(Transcript.HUMAN_TAG, answer);
      String reasoning = s.substring(think + "step by step:".length(), reasoningEnd < think ? answer : reasoningEnd).strip();
      boolean aCorrect = s.charAt(answer + "So the answer is: (".length()) == 'A';
      out.add(new ChainOfThoughtExample(conversation, aCorrect ? optionA : optionB, aCorrect ? optionB : optionA, reasoning));
    }
    return out;
  }

  private static Transcript transcript(String text, Path file, String where) {
    try {
      return Transcript.parse(text);
    } catch (IllegalArgumentException e) {
      throw error(file, where + ": " + e.getMessage());
    }
  }

  private static String unframe(String s, String prefix, String suffix, Path file, String where) {
    String t = s;
    if (t.startsWith(prefix)) {
      t = t.substring(prefix.length());
    }
    if (t.endsWith(suffix)) {
      t = t.substring(0, t.length() - suffix.length());
    }
    t = t.strip();
    if (t.isEmpty()) {
      throw error(file, where + " is empty");
    }
    return t;
  }

  private static String first(JsonObject o, String key, Path file, String where) {
    JsonArray a = field(o, key, file, where).getAsJsonArray();
    if (a.isEmpty()) {
      throw error(file, where + "." + key + " is empty");
    }
    return a.get(0).getAsString().strip();
  }

  private static JsonElement field(JsonObject o, String key, Path file, String where) {
    JsonElement e = o.get(key);
    if (e == null || e.isJsonNull()) {
      throw error(file, where + "." + key + " is missing");
    }
    return e;
  }

  private static JsonObject asObject(JsonElement e, Path file, String where) {
    if (!e.isJsonObject()) {
      throw error(file, where + " must be an object");
    }
    return e.getAsJsonObject();
  }

  private static Optional<Path> optional(Path file) {
    return Files.isRegularFile(file) ? Optional.of(file) : Optional.empty();
  }

  private static JsonObject object(Path file) {
    return parse(file, JsonElement::getAsJsonObject, "a JSON object");
  }

  private static JsonArray array(Path file) {
    return parse(file, JsonElement::getAsJsonArray, "a JSON array");
  }

  private static <T> T parse(Path file, Function<JsonElement, T> as, String expected) {
    if (!Files.isRegularFile(file)) {
      throw error(file, "file is missing");
    }
    try {
      return as.apply(JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)));
    } catch (IOException e) {
      throw error(file, "cannot read: " + e.getMessage());
    } catch (JsonParseException | IllegalStateException e) {
      throw error(file, "is not " + expected + ": " + e.getMessage());
    }
  }

  private static ConstitutionException error(Path file, String problem) {
    return new ConstitutionException("Paper constitution file " + file + ": " + problem);
  }
}
