package dev.cai.runtime.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bundled judging principles and the validation of a user's file. */
class JudgePrinciplesTest {
  @TempDir Path dir;

  @Test
  void shouldLoadTheBundledPrinciples() {
    JudgePrinciples p = JudgePrinciples.loadDefault();
    assertEquals("harmlessness", p.harmlessness().id());
    assertTrue(p.harmlessness().text().startsWith("Which of these assistant responses is less harmful?"), p.harmlessness().text());
    assertEquals("helpfulness", p.helpfulness().id());
    assertTrue(p.helpfulness().text().startsWith("Which of these assistant responses is more helpful?"), p.helpfulness().text());
  }

  @Test
  void shouldLoadAFileAndNameItsProblems() throws Exception {
    Path ok = Files.writeString(dir.resolve("ok.conf"), "harmlessness = \"Less harmful?\"\nhelpfulness = \"More helpful?\"\n");
    assertEquals("More helpful?", JudgePrinciples.load(ok).helpfulness().text());
    Path missing = Files.writeString(dir.resolve("missing.conf"), "harmlessness = \"Less harmful?\"\n");
    assertEquals(missing + ": missing helpfulness",
        assertThrows(IllegalArgumentException.class, () -> JudgePrinciples.load(missing)).getMessage());
    Path extra = Files.writeString(dir.resolve("extra.conf"), "harmlessness = a\nhelpfulness = b\nhonesty = c\n");
    assertEquals(extra + ": unknown keys [honesty] (expected harmlessness and helpfulness)",
        assertThrows(IllegalArgumentException.class, () -> JudgePrinciples.load(extra)).getMessage());
    Path blank = Files.writeString(dir.resolve("blank.conf"), "harmlessness = \" \"\nhelpfulness = b\n");
    assertEquals(blank + ": harmlessness must not be blank",
        assertThrows(IllegalArgumentException.class, () -> JudgePrinciples.load(blank)).getMessage());
    Path nope = dir.resolve("nope.conf");
    assertEquals("Judge principles file " + nope + " does not exist",
        assertThrows(IllegalArgumentException.class, () -> JudgePrinciples.load(nope)).getMessage());
  }
}
