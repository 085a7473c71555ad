package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Proves the build enforces GUIDE §3: a throw-away project that inherits the real parent pom and the
 * real module's forbidden-package pattern fails {@code mvn validate} when its source references the
 * forbidden package, and passes when it does not.
 */
class ModuleRulesIT {
  private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

  @ParameterizedTest(name = "{0} must not use {1}")
  @CsvSource({
    "model-runtime, org.apache.pekko.actor.typed.Behavior",
    "persistence, org.apache.pekko.stream.javadsl.Source",
    "actors, org.rocksdb.RocksDB"
  })
  void shouldFailTheBuildWhenAModuleReferencesAForbiddenPackage(String module, String forbiddenType, @TempDir Path dir)
      throws Exception {
    String pattern = forbiddenPattern(module);
    Path project = project(dir, pattern, "import " + forbiddenType + ";\nclass Bad {}\n");
    Result bad = validate(project);
    assertEquals(1, bad.exit, bad.output);
    assertTrue(bad.output.contains("Module rule (GUIDE §3)"), bad.output);

    Path clean = project(dir.resolve("clean"), pattern, "class Good { java.util.List<String> l; }\n");
    Result good = validate(clean);
    assertEquals(0, good.exit, good.output);
  }

  private static String forbiddenPattern(String module) throws IOException {
    String pom = Files.readString(ROOT.resolve(module).resolve("pom.xml"));
    Matcher m = Pattern.compile("<cai.forbidden.packages>(.*?)</cai.forbidden.packages>").matcher(pom);
    assertTrue(m.find(), module + "/pom.xml sets no cai.forbidden.packages");
    return m.group(1);
  }

  private static Path project(Path dir, String pattern, String source) throws IOException {
    Path src = dir.resolve("src/main/java/x");
    Files.createDirectories(src);
    Files.writeString(src.resolve("Code.java"), "package x;\n" + source);
    Files.writeString(dir.resolve("pom.xml"), """
        <project xmlns="http://maven.apache.org/POM/4.0.0">
          <modelVersion>4.0.0</modelVersion>
          <parent>
            <groupId>dev.cai</groupId><artifactId>cai-parent</artifactId><version>0.1.0-SNAPSHOT</version>
            <relativePath>%s</relativePath>
          </parent>
          <artifactId>module-rule-probe</artifactId>
          <properties><cai.forbidden.packages>%s</cai.forbidden.packages></properties>
        </project>
        """.formatted(ROOT.resolve("pom.xml"), pattern));
    return dir;
  }

  private record Result(int exit, String output) {}

  private static Result validate(Path project) throws Exception {
    Process p = new ProcessBuilder("mvn", "-B", "-o", "-q", "-Dstyle.color=never", "validate")
        .directory(project.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "mvn validate timed out");
    return new Result(p.exitValue(), out);
  }
}
