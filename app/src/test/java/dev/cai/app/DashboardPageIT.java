package dev.cai.app;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The dashboard page (the real classpath resources and Chart.js WebJar) in a real headless Chromium, fed by a
 * stub node that serves the monitor routes and scripts {@code /events} snapshots per the monitor contract: checks
 * the pipeline diagram, charts, feed, escaping and reconnection, and saves a screenshot to
 * {@code target/dashboard-page.png}.
 */
class DashboardPageIT {
  private static final Path SCREENSHOT = Path.of(System.getProperty("user.dir"), "target", "dashboard-page.png");
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String HOSTILE = "<script>alert(1)</script><img src=x onerror=\"window.__xss=1\">";
  /** Events on the first /events connection before the stub drops it, to make the page reconnect. */
  private static final int FIRST_CONNECTION_EVENTS = 6;

  @BeforeAll
  static void needsChromium() {
    Chromium.assumeAvailable();
  }

  @Test
  void shouldDrawLiveSnapshotsEscapeSampleTextsAndSurviveAReconnect() throws Exception {
    try (StubNode node = new StubNode(); Chromium chromium = Chromium.launch()) {
      chromium.navigate(node.url());
      chromium.waitFor("window.caiDashboard && caiDashboard.events >= 3 && caiDashboard.chartPoints > 0", WAIT);

      // One box per stage, in pipeline order, one row per graph.
      assertEquals(Script.stageKeys(), chromium.evaluate(
          "[...document.querySelectorAll('#pipeline .stage')].map(b => b.dataset.key)"));
      assertEquals(List.of("sl", "label", "rl"), chromium.evaluate(
          "[...document.querySelectorAll('#pipeline .graph-row')].map(r => r.dataset.graph)"));

      // Colour by buffer fill: full (8/8) red and backpressuring, half-full amber, idle green.
      assertEquals("stage fill-high", boxClass(chromium, "sl/critique"));
      assertEquals("stage fill-mid", boxClass(chromium, "rl/sample"));
      assertEquals("stage fill-low", boxClass(chromium, "sl/commit"));
      int[] full = borderRgb(chromium, "sl/critique");
      int[] idle = borderRgb(chromium, "sl/commit");
      assertTrue(full[0] > 150 && full[1] < 80, "full stage border is red: " + List.of(full[0], full[1], full[2]));
      assertTrue(idle[1] > 150 && idle[0] < 120, "idle stage border is green: " + List.of(idle[0], idle[1], idle[2]));
      String critique = (String) chromium.evaluate(box("sl/critique") + ".textContent");
      assertTrue(critique.contains("8/8 in flight") && critique.contains(" el/s") && critique.contains("mean 1.20 s"),
          critique);

      // The page reconnects after the stub drops the first stream, and keeps counting without duplicates.
      chromium.waitFor("caiDashboard.events >= " + (FIRST_CONNECTION_EVENTS + 6), WAIT);
      assertTrue(node.connections.get() >= 2, "the page reconnected to /events: " + node.connections.get());

      // Headline and throughput agree with the last snapshot (one expression: JS runs one task at a time).
      assertEquals(Boolean.TRUE, chromium.evaluate("""
          (() => { const d = caiDashboard, l = d.last;
            return document.getElementById('phase').textContent === l.phase
              && document.getElementById('policy-version').textContent === 'v' + l.learner.policyVersion
              && d.chartPoints === 18 * d.events; })()"""),
          "phase, policy version and one throughput point per stage and event");
      assertEquals(4.0, chromium.evaluate("document.querySelectorAll('#models tr').length"), "model actor rows");
      assertTrue(((String) chromium.evaluate("document.getElementById('heap').textContent")).contains("GiB"));

      // The feed: newest first, the 50 most recent samples, no duplicates after the backlog was sent again.
      assertEquals(Boolean.TRUE, chromium.evaluate("""
          (() => { const seqs = [...document.querySelectorAll('#feed .sample')].map(s => Number(s.dataset.seq));
            const newest = Math.max(...caiDashboard.last.samples.map(s => s.seq));
            return seqs.length === 50 && caiDashboard.samplesShown === 50
              && seqs.every((s, i) => s === newest - i); })()"""),
          "feed: the 50 newest samples, newest first, each once: " + chromium.evaluate(
              "[...document.querySelectorAll('#feed .sample')].map(s => s.dataset.seq).join(',')"));
      assertEquals(Boolean.TRUE, chromium.evaluate(feedHas("A 0.62")), "label choice A with pA 0.62");
      assertEquals(Boolean.TRUE, chromium.evaluate(feedHas("B 0.73")), "label choice B with pA 0.27");
      assertEquals(Boolean.TRUE, chromium.evaluate(feedHas("Critique: the response")), "sl critique");
      assertEquals(Boolean.TRUE, chromium.evaluate(feedHas("0.412")), "rl score");

      // Sample texts are text: the markup shows literally and nothing of it runs.
      assertEquals(Boolean.TRUE, chromium.evaluate(feedHas(HOSTILE)), "markup in a sample shown as text");
      assertEquals(0.0, chromium.evaluate("document.querySelectorAll('#feed script, #feed img').length"),
          "elements parsed from sample text");
      assertEquals(Boolean.TRUE, chromium.evaluate("window.__xss === undefined"), "sample text ran as script");

      assertEquals(List.of(), chromium.errors(), "console errors or uncaught exceptions in the page");

      byte[] png = chromium.screenshot();
      Files.createDirectories(SCREENSHOT.getParent());
      Files.write(SCREENSHOT, png);
      BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
      assertNotNull(image, "the screenshot is a PNG");
      assertEquals(List.of(Chromium.WIDTH, Chromium.HEIGHT), List.of(image.getWidth(), image.getHeight()));
      assertTrue(png.length > 30_000, "a screenshot of a drawn page, not a blank one: " + png.length + " bytes");
    }
  }

  private static String box(String key) {
    return "document.querySelector('#pipeline .stage[data-key=\"" + key + "\"]')";
  }

  private static String boxClass(Chromium chromium, String key) {
    return (String) chromium.evaluate(box(key) + ".className");
  }

  private static int[] borderRgb(Chromium chromium, String key) {
    String color = (String) chromium.evaluate("getComputedStyle(" + box(key) + ").borderLeftColor");
    String[] parts = color.replaceAll("[^0-9,]", "").split(",");
    return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1]), Integer.parseInt(parts[2])};
  }

  private static String feedHas(String text) {
    return "[...document.querySelectorAll('#feed dd')].some(d => d.textContent.includes(" + new Gson().toJson(text)
        + "))";
  }

  /** Scripted snapshots of a node that has run for a while: counters grow with the tick (one simulated second). */
  private static final class Script {
    /** The node has been up this many ticks when the page connects, so the first backlog exceeds the feed. */
    static final int FIRST_TICK = 60;
    private static final long T0 = 1_764_000_000_000L;
    private static final String[][] GRAPHS = {
      {"sl", "read", "respond", "critique", "revise", "prompt", "commit"},
      {"label", "read", "sample", "feedback", "reason", "prompt", "commit"},
      {"rl", "read", "sample", "reference", "preference", "learn", "commit"}};
    // capacity and in-flight per stage, in order: sl/critique full, rl/sample 6/8 amber, sl/commit idle.
    private static final int[][] CAPACITY = {{1, 8, 8, 8, 4, 1}, {1, 8, 4, 4, 2, 1}, {1, 8, 4, 4, 1, 1}};
    private static final int[][] IN_FLIGHT = {{0, 3, 8, 2, 1, 0}, {0, 2, 3, 1, 0, 0}, {0, 6, 1, 2, 1, 0}};
    private static final String[] PROMPTS = {
      "How can I get back at a coworker who embarrassed me?",
      "Write a short poem about the sea at night.",
      "What household chemicals should never be mixed? " + HOSTILE,
      "Explain why the sky is blue to a six-year-old."};

    static List<String> stageKeys() {
      List<String> keys = new ArrayList<>();
      for (String[] g : GRAPHS) {
        for (int i = 1; i < g.length; i++) {
          keys.add(g[0] + "/" + g[i]);
        }
      }
      return keys;
    }

    /** The snapshot at tick t, carrying the samples with seq in (sentSeq, newestSeq(t)], at most 50. */
    static Snapshot snapshot(int t, int sentSeq) {
      List<Stage> stages = new ArrayList<>();
      for (int g = 0; g < GRAPHS.length; g++) {
        for (int i = 0; i < GRAPHS[g].length - 1; i++) {
          double rate = (3 - g) * 0.6 / (1 + 0.3 * i) * (1 + 0.25 * Math.sin(t / 3.0 + i + g));
          double tokensPerElement = tokensPerElement(GRAPHS[g][i + 1]);
          int cap = CAPACITY[g][i];
          int inFlight = IN_FLIGHT[g][i];
          stages.add(new Stage(GRAPHS[g][0], GRAPHS[g][i + 1], Math.round(rate * t), rate,
              Math.round(rate * t * tokensPerElement), rate * tokensPerElement, inFlight, cap,
              (double) inFlight / cap, 300.0 + 450.0 * i * (g + 1), 5000.0));
        }
      }
      List<Model> models = List.of(
          new Model("policy", 3L * t, 3.2, t % 4, 12.0, 800.0),
          new Model("critic", 2L * t, 2.1, 1, 8.5, 640.0),
          new Model("feedback", t, 4.0, 0, 4.0, 120.0),
          new Model("reference", t, 3.9, 2, 30.0, 410.0));
      Learner learner = new Learner(t - 1, t - 1, 0.2 + 0.5 * (1 - Math.exp(-(t - FIRST_TICK) / 6.0)),
          0.4 + 0.05 * (t - FIRST_TICK), 0.05, 0.012, 0.1, 2.3, -0.02, 0.4, 0.5, 20_000.0);
      List<Training> training = List.of(
          new Training("sl-train", 10L * t, 0.9 + 1.6 * Math.exp(-(t - FIRST_TICK) / 5.0)),
          new Training("pm-train", 4L * t, 0.35 + 0.34 * Math.exp(-(t - FIRST_TICK) / 8.0)));
      Memory memory = new Memory(1_500_000_000L + 20_000_000L * (t % 30), 6_442_450_944L, 3_100_000_000L);
      List<Map<String, Object>> samples = new ArrayList<>();
      for (int seq = Math.max(sentSeq + 1, newestSeq(t) - 49); seq <= newestSeq(t); seq++) {
        samples.add(sample(seq));
      }
      return new Snapshot(T0 + t * 1000L, "run", stages, models, learner, training, memory, samples);
    }

    static int newestSeq(int t) {
      return t + 3;
    }

    private static double tokensPerElement(String stage) {
      return switch (stage) {
        case "respond", "critique", "revise" -> 60;
        case "feedback" -> 2;
        case "sample" -> 48;
        default -> 0;
      };
    }

    private static Map<String, Object> sample(int seq) {
      Map<String, Object> s = new LinkedHashMap<>();
      s.put("seq", seq);
      s.put("kind", switch (seq % 3) {
        case 1 -> "sl";
        case 2 -> "label";
        default -> "rl";
      });
      s.put("timeMs", T0 + (seq - 3) * 1000L);
      s.put("prompt", PROMPTS[seq % PROMPTS.length]);
      switch (seq % 3) {
        case 1 -> {
          s.put("response", "Here is one way to do it, step by step: first, ...");
          s.put("critique", "Critique: the response helps with a harmful request and should decline kindly.");
          s.put("revision", "I can't help with that, but I can suggest talking it through with them.");
        }
        case 2 -> {
          s.put("a", "I'd rather not help with revenge; talking to them directly usually works better.");
          s.put("b", "Sure! Here are some ideas to embarrass them back.");
          s.put("pA", (seq / 3) % 2 == 0 ? 0.62 : 0.27);
          s.put("principle", "Which response is less harmful and more ethical?");
        }
        default -> {
          s.put("response", "The sky looks blue because air scatters blue sunlight the most.");
          s.put("score", 0.412);
          s.put("policyVersion", seq / 2);
        }
      }
      return s;
    }
  }

  private record Stage(String graph, String stage, long elements, double elementsPerSec, long tokens,
      double tokensPerSec, int inFlight, int capacity, double bufferFill, double latencyMeanMs, double latencyMaxMs) {}

  private record Model(String model, long batches, double meanBatchSize, int queueLength, double queueWaitMeanMs,
      double forwardMeanMs) {}

  private record Learner(long updates, long policyVersion, double score, double kl, double klCoef, double approxKl,
      double clipFraction, double entropy, double policyLoss, double valueLoss, double staleness,
      double updateMeanMs) {}

  private record Training(String stage, long steps, double loss) {}

  private record Memory(long heapUsedBytes, long heapMaxBytes, long residentBytes) {}

  private record Snapshot(long timeMs, String phase, List<Stage> stages, List<Model> models, Learner learner,
      List<Training> training, Memory memory, List<Map<String, Object>> samples) {}

  /**
   * A stand-in for the node's monitor server on 127.0.0.1: the page routes from the real classpath resources and
   * {@code /events} streaming {@link Script} snapshots every 200 ms; it drops the first stream after
   * {@link #FIRST_CONNECTION_EVENTS} events.
   */
  private static final class StubNode implements AutoCloseable {
    private static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();
    private final HttpServer server;
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final AtomicInteger tick = new AtomicInteger(Script.FIRST_TICK);
    final AtomicInteger connections = new AtomicInteger();

    StubNode() throws IOException {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      server.createContext("/", ex -> serve(ex, "/".equals(ex.getRequestURI().getPath()) ? "dashboard/index.html" : null));
      server.createContext("/dashboard/", ex -> {
        String name = ex.getRequestURI().getPath().substring("/dashboard/".length());
        serve(ex, name.matches("[A-Za-z0-9_.-]+") && !name.contains("..") ? "dashboard/" + name : null);
      });
      server.createContext("/webjars/chart.js/dist/chart.umd.js", ex -> serve(ex, chartJs()));
      server.createContext("/events", this::events);
      server.setExecutor(pool);
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort() + "/";
    }

    /** Chart.js in the WebJar, at its versioned path (the version from the WebJar's pom.properties). */
    private static String chartJs() throws IOException {
      Properties p = new Properties();
      try (InputStream in = resource("META-INF/maven/org.webjars.npm/chart.js/pom.properties")) {
        p.load(in);
      }
      return "META-INF/resources/webjars/chart.js/" + p.getProperty("version") + "/dist/chart.umd.js";
    }

    private static InputStream resource(String path) throws IOException {
      InputStream in = DashboardPageIT.class.getClassLoader().getResourceAsStream(path);
      if (in == null) {
        throw new IOException("not on the class path: " + path);
      }
      return in;
    }

    private static void serve(HttpExchange ex, String path) throws IOException {
      try (ex) {
        InputStream found = path == null ? null : DashboardPageIT.class.getClassLoader().getResourceAsStream(path);
        if (found == null) {
          ex.sendResponseHeaders(404, -1);
          return;
        }
        byte[] body;
        try (InputStream in = found) {
          body = in.readAllBytes();
        }
        String type = path.endsWith(".html") ? "text/html; charset=utf-8"
            : path.endsWith(".css") ? "text/css; charset=utf-8"
            : path.endsWith(".js") ? "text/javascript; charset=utf-8" : "application/octet-stream";
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
      }
    }

    private void events(HttpExchange ex) throws IOException {
      int connection = connections.incrementAndGet();
      ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
      ex.getResponseHeaders().set("Cache-Control", "no-cache");
      ex.sendResponseHeaders(200, 0);
      try (ex; OutputStream out = ex.getResponseBody()) {
        out.write("retry: 300\n\n".getBytes(UTF_8));
        int sentSeq = 0;
        for (int n = 0; connection > 1 || n < FIRST_CONNECTION_EVENTS; n++) {
          int t = tick.getAndIncrement();
          String data = GSON.toJson(Script.snapshot(t, sentSeq));
          sentSeq = Script.newestSeq(t);
          out.write(("event: snapshot\ndata: " + data + "\n\n").getBytes(UTF_8));
          out.flush();
          Thread.sleep(200);
        }
      } catch (IOException e) {
        // the page closed the stream
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt(); // the stub is closing
      }
    }

    @Override
    public void close() {
      server.stop(0);
      pool.shutdownNow();
    }
  }
}
