package dev.cai.runtime.eval;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;
import dev.cai.runtime.constitution.Constitution.Principle;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

/**
 * The two multiple-choice principles a judge compares snapshots under for their Elo (HOCON with the keys
 * {@code harmlessness} and {@code helpfulness}); the bundled ones are {@value #DEFAULT_RESOURCE}.
 */
public record JudgePrinciples(Principle harmlessness, Principle helpfulness) {
  /** Classpath location of the principles that ship with cai. */
  public static final String DEFAULT_RESOURCE = "/dev/cai/eval/judge-principles.conf";

  private static final Set<String> KEYS = Set.of("harmlessness", "helpfulness");

  /** The bundled principles. */
  public static JudgePrinciples loadDefault() {
    try (InputStream in = JudgePrinciples.class.getResourceAsStream(DEFAULT_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("Judge principles " + DEFAULT_RESOURCE + " are not on the classpath");
      }
      return parse(new InputStreamReader(in, StandardCharsets.UTF_8), "classpath:" + DEFAULT_RESOURCE);
    } catch (IOException e) {
      throw new IllegalStateException("Cannot read judge principles " + DEFAULT_RESOURCE + ": " + e.getMessage(), e);
    }
  }

  /** Principles from a HOCON/JSON file; errors name the file and the key. */
  public static JudgePrinciples load(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("Judge principles file " + file + " does not exist");
    }
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return parse(r, file.toString());
    } catch (IOException e) {
      throw new IllegalArgumentException("Cannot read judge principles file " + file + ": " + e.getMessage(), e);
    }
  }

  /** Parses HOCON text; {@code source} names it in errors. */
  public static JudgePrinciples parse(Reader text, String source) {
    Config c;
    try {
      c = ConfigFactory.parseReader(text, ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF).setOriginDescription(source));
    } catch (ConfigException e) {
      throw new IllegalArgumentException(source + ": not valid HOCON: " + e.getMessage(), e);
    }
    Set<String> unknown = new TreeSet<>(c.root().keySet());
    unknown.removeAll(KEYS);
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException(source + ": unknown keys " + unknown + " (expected harmlessness and helpfulness)");
    }
    return new JudgePrinciples(principle(c, "harmlessness", source), principle(c, "helpfulness", source));
  }

  private static Principle principle(Config c, String key, String source) {
    try {
      String text = c.getString(key);
      if (text.isBlank()) {
        throw new IllegalArgumentException(source + ": " + key + " must not be blank");
      }
      return new Principle(key, text.strip());
    } catch (ConfigException.Missing e) {
      throw new IllegalArgumentException(source + ": missing " + key, e);
    } catch (ConfigException.WrongType e) {
      throw new IllegalArgumentException(source + ": " + key + " must be a string", e);
    }
  }
}
