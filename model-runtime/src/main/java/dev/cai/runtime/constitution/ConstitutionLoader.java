package dev.cai.runtime.constitution;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;
import dev.cai.runtime.constitution.Constitution.ChainOfThoughtExample;
import dev.cai.runtime.constitution.Constitution.CritiqueExample;
import dev.cai.runtime.constitution.Constitution.CritiqueRevision;
import dev.cai.runtime.constitution.Constitution.LabelingExample;
import dev.cai.runtime.constitution.Constitution.Principle;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads and validates a constitution file (HOCON; plain JSON is valid HOCON). Every problem is reported
 * with the file and the path of the offending entry; unknown keys are rejected so typos cannot pass.
 */
public final class ConstitutionLoader {
  /** Classpath location of the constitution that ships with cai. */
  public static final String DEFAULT_RESOURCE = "/dev/cai/constitution/default.conf";

  private static final Set<String> TOP_KEYS = Set.of("name", "version", "critique-revision", "principles", "few-shot");
  private static final Set<String> FEW_SHOT_KEYS = Set.of("critique-revision", "labeling", "chain-of-thought");
  private static final Set<String> CONVERSATION_KEYS = Set.of("human", "assistant", "transcript");

  private ConstitutionLoader() {}

  /** The default constitution bundled with cai. */
  public static Constitution loadDefault() {
    try (InputStream in = ConstitutionLoader.class.getResourceAsStream(DEFAULT_RESOURCE)) {
      if (in == null) {
        throw new ConstitutionException("Default constitution " + DEFAULT_RESOURCE + " is not on the classpath");
      }
      return parse(new InputStreamReader(in, StandardCharsets.UTF_8), "classpath:" + DEFAULT_RESOURCE);
    } catch (IOException e) {
      throw new ConstitutionException("Cannot read default constitution " + DEFAULT_RESOURCE + ": " + e.getMessage(), e);
    }
  }

  /** Loads {@code file}; a directory holding the paper's JSON files goes through {@link PaperConstitution}. */
  public static Constitution load(Path file) {
    if (Files.isDirectory(file)) {
      return PaperConstitution.load(file);
    }
    if (!Files.isRegularFile(file)) {
      throw new ConstitutionException("Constitution file " + file + " does not exist");
    }
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return parse(r, file.toString());
    } catch (IOException e) {
      throw new ConstitutionException("Cannot read constitution file " + file + ": " + e.getMessage(), e);
    }
  }

  /** Parses HOCON/JSON text; {@code source} names it in errors. */
  public static Constitution parse(Reader text, String source) {
    Config c;
    try {
      c = ConfigFactory.parseReader(text, ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF)).resolve();
    } catch (ConfigException e) {
      throw new ConstitutionException("Constitution file " + source + " is not valid HOCON/JSON: " + e.getMessage(), e);
    }
    Ctx ctx = new Ctx(source);
    ctx.onlyKeys(c, "", TOP_KEYS);
    String name = ctx.text(c, "name", "");
    String version = ctx.text(c, "version", "");

    List<CritiqueRevision> pairs = new ArrayList<>();
    List<? extends Config> rawPairs = ctx.list(c, "critique-revision", "");
    for (int i = 0; i < rawPairs.size(); i++) {
      Config p = rawPairs.get(i);
      String where = "critique-revision[" + i + "]";
      ctx.onlyKeys(p, where, Set.of("id", "critique", "revision"));
      String id = ctx.text(p, "id", where);
      where += " (id \"" + id + "\")";
      pairs.add(new CritiqueRevision(id, ctx.text(p, "critique", where), ctx.text(p, "revision", where)));
    }
    List<Principle> principles = new ArrayList<>();
    List<? extends Config> rawPrinciples = ctx.list(c, "principles", "");
    for (int i = 0; i < rawPrinciples.size(); i++) {
      Config p = rawPrinciples.get(i);
      String where = "principles[" + i + "]";
      ctx.onlyKeys(p, where, Set.of("id", "text"));
      String id = ctx.text(p, "id", where);
      principles.add(new Principle(id, ctx.text(p, "text", where + " (id \"" + id + "\")")));
    }
    ctx.unique(pairs.stream().map(CritiqueRevision::id).toList(), "critique-revision");
    ctx.unique(principles.stream().map(Principle::id).toList(), "principles");

    List<CritiqueExample> critiqueExamples = new ArrayList<>();
    List<LabelingExample> labeling = new ArrayList<>();
    List<ChainOfThoughtExample> cot = new ArrayList<>();
    if (c.hasPath("few-shot")) {
      Config fs = c.getConfig("few-shot");
      ctx.onlyKeys(fs, "few-shot", FEW_SHOT_KEYS);
      Map<String, CritiqueRevision> pairById = Constitution.byId(pairs, CritiqueRevision::id);
      List<? extends Config> raw = fs.hasPath("critique-revision") ? ctx.list(fs, "critique-revision", "few-shot.") : List.of();
      for (int i = 0; i < raw.size(); i++) {
        Config e = raw.get(i);
        String where = "few-shot.critique-revision[" + i + "]";
        ctx.onlyKeys(e, where, union(CONVERSATION_KEYS, Set.of("critique-id", "critique", "revision")));
        String critiqueId = ctx.text(e, "critique-id", where);
        CritiqueRevision rule = pairById.get(critiqueId);
        if (rule == null) {
          throw ctx.error(where + ": critique-id \"" + critiqueId + "\" is not a critique-revision id");
        }
        critiqueExamples.add(new CritiqueExample(ctx.conversation(e, where, true), rule,
            ctx.text(e, "critique", where), ctx.text(e, "revision", where)));
      }
      raw = fs.hasPath("labeling") ? ctx.list(fs, "labeling", "few-shot.") : List.of();
      for (int i = 0; i < raw.size(); i++) {
        Config e = raw.get(i);
        String where = "few-shot.labeling[" + i + "]";
        ctx.onlyKeys(e, where, union(CONVERSATION_KEYS, Set.of("better", "worse")));
        labeling.add(new LabelingExample(ctx.conversation(e, where, false), ctx.text(e, "better", where),
            ctx.text(e, "worse", where)));
      }
      raw = fs.hasPath("chain-of-thought") ? ctx.list(fs, "chain-of-thought", "few-shot.") : List.of();
      for (int i = 0; i < raw.size(); i++) {
        Config e = raw.get(i);
        String where = "few-shot.chain-of-thought[" + i + "]";
        ctx.onlyKeys(e, where, union(CONVERSATION_KEYS, Set.of("better", "worse", "reasoning")));
        cot.add(new ChainOfThoughtExample(ctx.conversation(e, where, false), ctx.text(e, "better", where),
            ctx.text(e, "worse", where), ctx.text(e, "reasoning", where)));
      }
    }
    return build(name, version, pairs, principles, critiqueExamples, labeling, cot);
  }

  /** Assembles a constitution and computes its content hash. */
  static Constitution build(String name, String version, List<CritiqueRevision> pairs, List<Principle> principles,
      List<CritiqueExample> critiqueExamples, List<LabelingExample> labeling, List<ChainOfThoughtExample> cot) {
    Constitution unhashed = new Constitution(name, version, pairs, principles, critiqueExamples, labeling, cot, "");
    return new Constitution(name, version, pairs, principles, critiqueExamples, labeling, cot, contentHash(unhashed));
  }

  /** SHA-256 (hex) of the canonical JSON of the content: independent of comments, layout and key order. */
  static String contentHash(Constitution c) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("name", c.name());
    doc.put("version", c.version());
    doc.put("critiqueRevisions", c.critiqueRevisions());
    doc.put("principles", c.principles());
    doc.put("critiqueExamples", c.critiqueExamples());
    doc.put("labelingExamples", c.labelingExamples());
    doc.put("chainOfThoughtExamples", c.chainOfThoughtExamples());
    Gson gson = new GsonBuilder().disableHtmlEscaping().create();
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(gson.toJson(doc).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> u = new TreeSet<>(a);
    u.addAll(b);
    return u;
  }

  /** Validation helpers bound to one source, so every error names the file. */
  private record Ctx(String source) {
    ConstitutionException error(String problem) {
      return new ConstitutionException("Constitution file " + source + ": " + problem);
    }

    String text(Config c, String key, String where) {
      String at = where.isEmpty() ? key : where + "." + key;
      if (!c.hasPath(key)) {
        throw error(at + " is missing");
      }
      String v;
      try {
        v = c.getString(key);
      } catch (ConfigException.WrongType e) {
        throw error(at + " must be a string");
      }
      if (v.isBlank()) {
        throw error(at + " is empty");
      }
      return v.strip();
    }

    List<? extends Config> list(Config c, String key, String where) {
      String at = where + key;
      if (!c.hasPath(key)) {
        throw error(at + " is missing");
      }
      List<? extends Config> items;
      try {
        items = c.getConfigList(key);
      } catch (ConfigException.WrongType e) {
        throw error(at + " must be a list of objects");
      }
      if (items.isEmpty() && where.isEmpty()) {
        throw error(at + " is empty");
      }
      return items;
    }

    void onlyKeys(Config c, String where, Set<String> allowed) {
      for (String k : c.root().keySet()) {
        if (!allowed.contains(k)) {
          throw error((where.isEmpty() ? "" : where + ": ") + "unknown key \"" + k + "\" (allowed: "
              + String.join(", ", new TreeSet<>(allowed)) + ")");
        }
      }
    }

    void unique(List<String> ids, String list) {
      Set<String> seen = new TreeSet<>();
      for (String id : ids) {
        if (!seen.add(id)) {
          throw error(list + ": duplicate id \"" + id + "\"");
        }
      }
    }

    /** A conversation from {@code transcript} or {@code human} (+ {@code assistant}). */
    Transcript conversation(Config c, String where, boolean endsWithAssistant) {
      Transcript t;
      if (c.hasPath("transcript")) {
        if (c.hasPath("human") || c.hasPath("assistant")) {
          throw error(where + ": give either transcript or human/assistant, not both");
        }
        try {
          t = Transcript.parse(c.getString("transcript"));
        } catch (IllegalArgumentException e) {
          throw error(where + ".transcript: " + e.getMessage());
        }
      } else {
        String human = text(c, "human", where);
        t = endsWithAssistant ? Transcript.of(human, text(c, "assistant", where)) : Transcript.ofHuman(human);
        if (!endsWithAssistant && c.hasPath("assistant")) {
          throw error(where + ": assistant is not used here (the replies are better/worse)");
        }
      }
      if (t.turns().isEmpty()) {
        throw error(where + ": the conversation is empty");
      }
      Transcript.Speaker last = t.turns().get(t.turns().size() - 1).speaker();
      Transcript.Speaker expected = endsWithAssistant ? Transcript.Speaker.ASSISTANT : Transcript.Speaker.HUMAN;
      if (last != expected) {
        throw error(where + ": the conversation must end with a " + expected.label() + " turn");
      }
      return t;
    }
  }
}
