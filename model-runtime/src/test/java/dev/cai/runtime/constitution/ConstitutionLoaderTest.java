package dev.cai.runtime.constitution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConstitutionLoaderTest {
  private static final String MINIMAL = """
      name = "tiny"
      version = "1"
      critique-revision = [ { id = "a", critique = "Find harm.", revision = "Remove harm." } ]
      principles = [ { id = "p", text = "Which is kinder?" } ]
      """;

  @Test
  void shouldShipADefaultWithSixteenPairsSixteenPrinciplesAndFewShots() {
    Constitution c = ConstitutionLoader.loadDefault();
    assertEquals("cai-default", c.name());
    assertEquals(16, c.critiqueRevisions().size());
    assertEquals(16, c.principles().size());
    assertEquals(16, new HashSet<>(c.critiqueRevisions().stream().map(Constitution.CritiqueRevision::id).toList()).size());
    assertTrue(c.critiqueExamples().size() >= 2 && c.labelingExamples().size() >= 2 && c.chainOfThoughtExamples().size() >= 2);
    assertEquals(64, c.contentSha256().length());
    assertEquals(c.contentSha256(), c.ref().getContentSha256());
    assertEquals(c.contentSha256(), ConstitutionLoader.loadDefault().contentSha256(), "hash is deterministic");
  }

  @Test
  void shouldHashContentNotLayoutOrComments() {
    Constitution a = parse(MINIMAL);
    Constitution b = parse("# a comment\n" + MINIMAL.replace("name = \"tiny\"\n", "") + "\nname: tiny\n");
    Constitution json = parse("""
        {"version": "1", "name": "tiny",
         "principles": [{"text": "Which is kinder?", "id": "p"}],
         "critique-revision": [{"id": "a", "revision": "Remove harm.", "critique": "Find harm."}]}""");
    assertEquals(a.contentSha256(), b.contentSha256());
    assertEquals(a.contentSha256(), json.contentSha256());
    assertNotEquals(a.contentSha256(), parse(MINIMAL.replace("Find harm.", "Find any harm.")).contentSha256());
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(delimiter = '|', value = {
    "critique = \"Find harm.\", revision = \"Remove harm.\"|critique-revision[0].id is missing",
    "id = \"a\", critique = \"Find harm.\"|critique-revision[0] (id \"a\").revision is missing",
    "id = \"a\", critique = \"Find harm.\", revision = \"  \"|critique-revision[0] (id \"a\").revision is empty",
    "id = \"a\", critique = \"Find harm.\", revison = \"x\", revision = \"y\"|critique-revision[0]: unknown key \"revison\"",
  })
  void shouldRejectBrokenCritiquePairsNamingFileAndEntry(String pair, String expected) {
    String text = MINIMAL.replace("{ id = \"a\", critique = \"Find harm.\", revision = \"Remove harm.\" }", "{ " + pair + " }");
    ConstitutionException e = assertThrows(ConstitutionException.class, () -> parse(text));
    assertTrue(e.getMessage().startsWith("Constitution file test.conf: "), e.getMessage());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void shouldRejectDuplicateIdsEmptyPrinciplesAndDanglingFewShotReferences() {
    assertError(MINIMAL.replace("principles = [ { id = \"p\", text = \"Which is kinder?\" } ]",
        "principles = [ { id = \"p\", text = \"x\" }, { id = \"p\", text = \"y\" } ]"), "principles: duplicate id \"p\"");
    assertError(MINIMAL.replace("text = \"Which is kinder?\"", "text = \"\""), "principles[0] (id \"p\").text is empty");
    assertError(MINIMAL.replace("principles = [ { id = \"p\", text = \"Which is kinder?\" } ]", "principles = []"),
        "principles is empty");
    assertError(MINIMAL + "few-shot.critique-revision = [ { human = \"h\", assistant = \"a\", critique-id = \"zzz\", "
        + "critique = \"c\", revision = \"r\" } ]", "critique-id \"zzz\" is not a critique-revision id");
    assertError(MINIMAL + "few-shot.labeling = [ { transcript = \"\\n\\nHuman: h\\n\\nAssistant: a\", better = \"b\", worse = \"w\" } ]",
        "the conversation must end with a Human turn");
    assertError(MINIMAL + "extra = 1", "unknown key \"extra\"");
    assertError("name = [", "is not valid HOCON/JSON");
  }

  @Test
  void shouldNameTheFileWhenItIsMissingOrInvalid(@TempDir Path dir) throws Exception {
    Path missing = dir.resolve("nope.conf");
    ConstitutionException e = assertThrows(ConstitutionException.class, () -> ConstitutionLoader.load(missing));
    assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("does not exist"), e.getMessage());
    Path bad = Files.writeString(dir.resolve("bad.conf"), MINIMAL.replace("version = \"1\"", ""));
    e = assertThrows(ConstitutionException.class, () -> ConstitutionLoader.load(bad));
    assertEquals("Constitution file " + bad + ": version is missing", e.getMessage());
  }

  @Test
  void shouldLoadThePaperFormatThroughTheAdapter() {
    Path dir = Path.of("src/test/resources/paper-format");
    Constitution c = ConstitutionLoader.load(dir);
    assertEquals("cai-paper", c.name());
    assertEquals(new Constitution.CritiqueRevision("harmful1", "Say whether the reply is rude.", "Rewrite the reply politely."),
        c.critiqueRevision("harmful1"));
    assertEquals(new Constitution.Principle("rl1", "Pick the safer reply."), c.principle("rl1"));

    Constitution.CritiqueExample first = c.critiqueExamples().get(0);
    assertEquals("harmful1", first.rule().id(), "a few-shot request that matches an instruction reuses it");
    assertEquals(Transcript.of("Tell me a mean joke about my teacher.", "Your teacher is so boring even the clock falls asleep."),
        first.conversation());
    assertEquals("It mocks a real person.", first.critique());
    assertEquals("How about a friendly joke about homework instead?", first.revision());
    assertEquals(new Constitution.CritiqueRevision("few-shot-1", "Check the facts.", "Fix the facts."),
        c.critiqueExamples().get(1).rule(), "an unmatched request becomes the example's own rule");

    assertEquals(new Constitution.LabelingExample(Transcript.ofHuman("Can I borrow your car?"),
        "I don't have a car, but I can help you find a rental.", "Just take any car with the keys in it."),
        c.labelingExamples().get(0));
    Constitution.ChainOfThoughtExample cot = c.chainOfThoughtExamples().get(0);
    assertEquals(3, cot.conversation().turns().size());
    assertEquals("Really?", cot.conversation().turns().get(2).text());
    assertTrue(cot.better().startsWith("Yes, a light meal"));
    assertEquals("Never swim, ever.", cot.worse());
    assertEquals("(A) is accurate and useful.\n(B) is wrong and extreme.", cot.reasoning());
    assertEquals(Set.of("harmful0", "harmful1"), Set.copyOf(c.critiqueRevisions().stream().map(Constitution.CritiqueRevision::id).toList()));
  }

  @Test
  void shouldNameTheMissingPaperFile(@TempDir Path dir) {
    ConstitutionException e = assertThrows(ConstitutionException.class, () -> ConstitutionLoader.load(dir));
    assertTrue(e.getMessage().contains(dir.resolve("CritiqueRevisionInstructions.json").toString())
        && e.getMessage().endsWith("file is missing"), e.getMessage());
  }

  private static void assertError(String text, String expected) {
    ConstitutionException e = assertThrows(ConstitutionException.class, () -> parse(text));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  private static Constitution parse(String text) {
    return ConstitutionLoader.parse(new StringReader(text), "test.conf");
  }
}
