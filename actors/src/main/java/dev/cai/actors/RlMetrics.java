package dev.cai.actors;

import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.cai.runtime.ppo.UpdateStats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The PPO metrics file ({@code rl-metrics.jsonl}): one JSON object per update with the GUIDE §5 item 9 diagnostics
 * (score, KL, β, approx-KL, clip fractions, entropy, losses, explained variance, length, EOS rate), the staleness
 * histogram, the update time and, when the learner committed while handling the batch, the commit's size and time.
 */
public final class RlMetrics {
  private RlMetrics() {}

  /** The metrics line of one update (an update's {@link LearnerActor.Learned} with statistics). */
  public static JsonObject line(LearnerActor.Learned learned) {
    UpdateStats s = learned.stats().orElseThrow(() -> new IllegalArgumentException("batch "
        + learned.batchIndex() + " made no update"));
    JsonObject o = new JsonObject();
    o.addProperty("version", s.version());
    o.addProperty("batch", learned.batchIndex());
    o.addProperty("time_ms", System.currentTimeMillis());
    o.addProperty("rollouts", s.rollouts());
    o.addProperty("dropped", s.dropped());
    JsonObject staleness = new JsonObject();
    new TreeMap<>(s.staleness()).forEach((k, v) -> staleness.addProperty(Long.toString(k), v));
    o.add("staleness", staleness);
    o.addProperty("score", s.meanScore());
    o.addProperty("kl", s.kl());
    o.addProperty("non_score_reward", s.nonScoreReward());
    o.addProperty("kl_coef", s.klCoef());
    o.addProperty("approx_kl", s.approxKl());
    o.addProperty("clip_fraction", s.clipFraction());
    o.addProperty("value_clip_fraction", s.valueClipFraction());
    o.addProperty("entropy", s.entropy());
    o.addProperty("policy_loss", s.policyLoss());
    o.addProperty("value_loss", s.valueLoss());
    o.addProperty("explained_variance", s.explainedVariance());
    o.addProperty("response_length", s.meanResponseLength());
    o.addProperty("eos_rate", s.eosRate());
    o.addProperty("policy_grad_norm", s.policyGradNorm());
    o.addProperty("update_ms", s.millis());
    learned.commit().ifPresent(c -> {
      o.addProperty("commit_version", c.version());
      o.addProperty("commit_ms", c.millis());
      o.addProperty("commit_bytes", c.bytes());
    });
    return o;
  }

  /** Appends the line of {@code learned} to {@code file} (created with its directory when missing). */
  public static void append(Path file, LearnerActor.Learned learned) {
    try {
      if (file.getParent() != null) {
        Files.createDirectories(file.getParent());
      }
      Files.writeString(file, line(learned) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot append PPO metrics to " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Keeps only the lines of versions up to {@code version} (a resumed learner recomputes the later ones), atomically;
   * a malformed line fails with the file and line number.
   */
  public static void keepUpTo(Path file, long version) {
    if (!Files.isRegularFile(file)) {
      return;
    }
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      List<String> kept = new ArrayList<>();
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i);
        if (line.isBlank()) {
          continue;
        }
        long v;
        try {
          v = JsonParser.parseString(line).getAsJsonObject().get("version").getAsLong();
        } catch (JsonParseException | IllegalStateException | NullPointerException | UnsupportedOperationException e) {
          throw new IllegalStateException(file + ":" + (i + 1) + ": not a PPO metrics line: " + e.getMessage(), e);
        }
        if (v <= version) {
          kept.add(line);
        }
      }
      if (kept.size() == lines.size()) {
        return;
      }
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.write(tmp, kept, StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot rewrite PPO metrics " + file + ": " + e.getMessage(), e);
    }
  }

  /** The staleness histogram as text, e.g. {@code "0:3 1:13"}. */
  public static String staleness(Map<Long, Integer> histogram) {
    StringBuilder sb = new StringBuilder();
    new TreeMap<>(histogram).forEach((k, v) -> sb.append(sb.length() == 0 ? "" : " ").append(k).append(':').append(v));
    return sb.toString();
  }
}
