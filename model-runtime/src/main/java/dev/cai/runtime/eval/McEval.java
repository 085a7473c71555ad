package dev.cai.runtime.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Multiple-choice evaluation of a feedback model (Bai et al. 2022, §4.1, Fig. 4): items
 * {@code {"prompt": ..., "corrects": [" (A)"], "incorrects": [" (B)"]}} whose prompt ends in "The answer is:";
 * each option is scored by its log-probability as a continuation, normalised over the item's options.
 * Reports accuracy (argmax correct), mean probability on the correct options, a reliability table, and the
 * same (table included) after position-bias correction on items whose two options (A)/(B) can be swapped in the prompt.
 */
public final class McEval {
  private McEval() {}

  /** One question. */
  public record Item(String prompt, List<String> corrects, List<String> incorrects, String where) {
    public List<String> options() {
      List<String> all = new ArrayList<>(corrects);
      all.addAll(incorrects);
      return all;
    }
  }

  /** One reliability bin: options whose predicted probability fell in [lo, hi). */
  public record Bin(double lo, double hi, int count, double meanPredicted, double fractionCorrect) {}

  /**
   * The evaluation of a set of items. {@code calibration} bins the probability of every option of every item;
   * {@code debiasedCalibration} bins, for each swappable item, the swapped-and-averaged probability of its correct
   * option and its complement for the incorrect one (empty bins when no item is swappable).
   */
  public record Report(int items, double accuracy, double meanPCorrect, List<Bin> calibration, int swappable,
      double debiasedAccuracy, double debiasedMeanPCorrect, List<Bin> debiasedCalibration) {}

  /** Reads JSONL (one item per line) or a JSON array; errors name the file and line/index. */
  public static List<Item> read(Path file) {
    List<Item> items = new ArrayList<>();
    try {
      String text = Files.readString(file, StandardCharsets.UTF_8);
      if (text.strip().startsWith("[")) {
        JsonArray arr = JsonParser.parseString(text).getAsJsonArray();
        for (int i = 0; i < arr.size(); i++) {
          items.add(item(arr.get(i), file + "[" + i + "]"));
        }
      } else {
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
          String line;
          int n = 0;
          while ((line = r.readLine()) != null) {
            n++;
            if (!line.isBlank()) {
              items.add(item(JsonParser.parseString(line), file + ":" + n));
            }
          }
        }
      }
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
    } catch (JsonParseException | IllegalStateException e) {
      throw new IllegalArgumentException(file + ": not valid JSON: " + e.getMessage(), e);
    }
    if (items.isEmpty()) {
      throw new IllegalArgumentException(file + ": no items");
    }
    return items;
  }

  private static Item item(JsonElement e, String where) {
    if (!e.isJsonObject()) {
      throw new IllegalArgumentException(where + ": expected an object");
    }
    JsonObject o = e.getAsJsonObject();
    if (!o.has("prompt") || !o.get("prompt").isJsonPrimitive()) {
      throw new IllegalArgumentException(where + ": \"prompt\" must be a string");
    }
    List<String> corrects = strings(o, "corrects", where);
    List<String> incorrects = strings(o, "incorrects", where);
    return new Item(o.get("prompt").getAsString(), corrects, incorrects, where);
  }

  private static List<String> strings(JsonObject o, String key, String where) {
    if (!o.has(key) || !o.get(key).isJsonArray() || o.getAsJsonArray(key).isEmpty()) {
      throw new IllegalArgumentException(where + ": \"" + key + "\" must be a non-empty list of strings");
    }
    List<String> out = new ArrayList<>();
    o.getAsJsonArray(key).forEach(x -> out.add(x.getAsString()));
    return out;
  }

  /** Softmax of log-probabilities. */
  public static double[] normalize(double[] logProbs) {
    double max = Double.NEGATIVE_INFINITY;
    for (double l : logProbs) {
      max = Math.max(max, l);
    }
    double[] p = new double[logProbs.length];
    double sum = 0;
    for (int i = 0; i < p.length; i++) {
      p[i] = Math.exp(logProbs[i] - max);
      sum += p[i];
    }
    for (int i = 0; i < p.length; i++) {
      p[i] /= sum;
    }
    return p;
  }

  /**
   * The item with its (A)/(B) option texts swapped in the prompt, when it has exactly the options " (A)" and
   * " (B)" and option lines "(A) ..." and "(B) ..." (the corrects/incorrects swap letters too).
   */
  public static Optional<Item> swapped(Item item) {
    List<String> opts = item.options();
    if (opts.size() != 2 || !List.of(" (A)", " (B)").containsAll(opts)) {
      return Optional.empty();
    }
    String p = item.prompt();
    int aStart = lastOptionMarker(OPTION_A, p);
    int bStart = lastOptionMarker(OPTION_B, p);
    if (aStart < 0 || bStart < aStart) {
      return Optional.empty();
    }
    int aText = aStart + 3;                    // after "(A)"
    int aEnd = p.lastIndexOf('\n', bStart);    // the newline that ends option A
    int bText = bStart + 3;
    int bEnd = p.lastIndexOf('\n');            // option B runs to the last line, the answer line
    if (aEnd < aText || bEnd < bText) {
      return Optional.empty();
    }
    String swappedPrompt = p.substring(0, aText) + p.substring(bText, bEnd) + p.substring(aEnd, bText)
        + p.substring(aText, aEnd) + p.substring(bEnd);
    List<String> corrects = item.corrects().stream().map(McEval::otherLetter).toList();
    List<String> incorrects = item.incorrects().stream().map(McEval::otherLetter).toList();
    return Optional.of(new Item(swappedPrompt, corrects, incorrects, item.where() + " (swapped)"));
  }

  private static final Pattern OPTION_A = Pattern.compile("(?m)^\\s*(\\(A\\))");
  private static final Pattern OPTION_B = Pattern.compile("(?m)^\\s*(\\(B\\))");

  /** Index of the last "(X)" that starts a line (after optional spaces), or -1. */
  private static int lastOptionMarker(Pattern marker, String text) {
    Matcher m = marker.matcher(text);
    int at = -1;
    while (m.find()) {
      at = m.start(1);
    }
    return at;
  }

  private static String otherLetter(String option) {
    return option.equals(" (A)") ? " (B)" : " (A)";
  }

  /**
   * Evaluates {@code items} with {@code scorer} (prompt, options → total log-probability of each option).
   *
   * @param bins reliability bins over [0, 1]
   */
  public static Report evaluate(List<Item> items, BiFunction<String, List<String>, double[]> scorer, int bins) {
    int correct = 0;
    double pCorrect = 0;
    Reliability raw = new Reliability(bins);
    Reliability debiased = new Reliability(bins);
    int swappable = 0;
    int debiasedCorrect = 0;
    double debiasedP = 0;
    for (Item item : items) {
      List<String> options = item.options();
      double[] p = normalize(scorer.apply(item.prompt(), options));
      int best = argMax(p);
      correct += best < item.corrects().size() ? 1 : 0;
      double pc = 0;
      for (int i = 0; i < p.length; i++) {
        boolean isCorrect = i < item.corrects().size();
        pc += isCorrect ? p[i] : 0;
        raw.add(p[i], isCorrect);
      }
      pCorrect += pc;
      Optional<Item> sw = swapped(item);
      if (sw.isPresent()) {
        swappable++;
        double[] q = normalize(scorer.apply(sw.get().prompt(), sw.get().options()));
        // in the swapped item the same answer is the other letter; its corrects come first again
        double corrected = 0.5 * (pc + q[0]);
        debiasedP += corrected;
        debiasedCorrect += corrected > 0.5 ? 1 : 0;
        debiased.add(corrected, true);
        debiased.add(1 - corrected, false);
      }
    }
    int n = items.size();
    return new Report(n, (double) correct / n, pCorrect / n, raw.table(), swappable,
        swappable == 0 ? Double.NaN : (double) debiasedCorrect / swappable, swappable == 0 ? Double.NaN : debiasedP / swappable,
        debiased.table());
  }

  private static int argMax(double[] p) {
    int best = 0;
    for (int i = 1; i < p.length; i++) {
      if (p[i] > p[best]) {
        best = i;
      }
    }
    return best;
  }
}
