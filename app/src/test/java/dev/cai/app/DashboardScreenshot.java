package dev.cai.app;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Saves a screenshot of a running node's dashboard in headless Chromium, once it has shown a few snapshots:
 * {@code DashboardScreenshot URL OUT.png [SECONDS]} (how the README's screenshot is made during {@code ./cai demo}).
 */
final class DashboardScreenshot {
  private DashboardScreenshot() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: DashboardScreenshot URL OUT.png [SECONDS]");
      System.exit(2);
    }
    long seconds = args.length > 2 ? Long.parseLong(args[2]) : 20;
    try (Chromium chromium = Chromium.launch()) {
      chromium.navigate(args[0]);
      chromium.waitFor("window.caiDashboard && caiDashboard.events >= 3", Duration.ofSeconds(60));
      Thread.sleep(seconds * 1000);
      Files.write(Path.of(args[1]), chromium.screenshot());
      System.out.println("saved " + args[1] + " after " + chromium.evaluate("caiDashboard.events") + " snapshots");
    }
  }
}
