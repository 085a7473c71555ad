package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The DevTools harness itself: values, thrown errors, waits, collected page errors and clean shutdown. */
class ChromiumIT {
  @BeforeAll
  static void needsChromium() {
    Chromium.assumeAvailable();
  }

  @Test
  void shouldEvaluateWaitCollectPageErrorsAndCleanUpItsProcesses() throws Exception {
    Chromium chromium = Chromium.launch();
    List<ProcessHandle> processes;
    try (chromium) {
      chromium.navigate("data:text/html," + URLEncoder.encode(
          "<p id=x>hi</p><script>setTimeout(() => { window.ready = true; }, 300)</script>", StandardCharsets.UTF_8)
          .replace("+", "%20"));
      assertEquals("hi", chromium.evaluate("document.getElementById('x').textContent"));
      assertEquals(Map.of("a", 1.0, "b", List.of(true, "s")), chromium.evaluate("({a: 1, b: [true, 's']})"));
      assertEquals(42.0, chromium.evaluate("new Promise(r => setTimeout(() => r(42), 50))"));
      assertEquals(null, chromium.evaluate("undefined"));

      IllegalStateException thrown = assertThrows(IllegalStateException.class,
          () -> chromium.evaluate("(() => { throw new TypeError('boom'); })()"));
      assertTrue(thrown.getMessage().contains("TypeError: boom"), thrown.getMessage());

      chromium.waitFor("window.ready === true", Duration.ofSeconds(10));
      AssertionError timeout = assertThrows(AssertionError.class,
          () -> chromium.waitFor("document.title.length > 100", Duration.ofMillis(300)));
      assertTrue(timeout.getMessage().contains("document.title.length > 100")
          && timeout.getMessage().contains("last value: false"), timeout.getMessage());

      assertEquals(List.of(), chromium.errors());
      chromium.evaluate("console.error('bad', 7); setTimeout(() => { throw new RangeError('late'); }, 0); 1");
      long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (chromium.errors().size() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(20); // the events arrive asynchronously
      }
      List<String> errors = chromium.errors();
      assertEquals(2, errors.size(), errors.toString());
      assertTrue(errors.get(0).contains("console.error: \"bad\" 7"), errors.toString());
      assertTrue(errors.get(1).contains("RangeError: late"), errors.toString());

      byte[] png = chromium.screenshot();
      assertEquals(List.of(0x89, (int) 'P', (int) 'N', (int) 'G'),
          List.of(png[0] & 0xff, (int) png[1], (int) png[2], (int) png[3]), "PNG signature");
      processes = chromium.processTree();
      assertTrue(processes.size() > 1, "Chromium runs as several processes: " + processes.size());
    }
    for (ProcessHandle p : processes) {
      assertTrue(!p.isAlive(), "still running after close: " + p.pid() + " " + p.info().command().orElse(""));
    }
    assertTrue(Files.notExists(chromium.profile()), "profile deleted: " + chromium.profile());
  }
}
