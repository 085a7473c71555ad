package dev.cai.app;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonParseException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a Grafana dashboard JSON file and the metric names its PromQL queries select, parsing PromQL just enough
 * (see <a href="https://prometheus.io/docs/prometheus/latest/querying/basics/">PromQL basics</a>): an identifier is a
 * metric name unless it calls a function, is an aggregation operator or a keyword, or is a label name (inside
 * {@code {...}} matchers or the {@code by}/{@code without}/{@code on}/{@code ignoring}/{@code group_left}/
 * {@code group_right} lists). Strings, numbers, durations, ranges and Grafana variables are skipped.
 */
final class GrafanaDashboard {
  /** Suffixes Prometheus adds to the series of a histogram or summary (Micrometer adds {@code _max}). */
  private static final List<String> HISTOGRAM_SUFFIXES = List.of("_bucket", "_count", "_sum", "_max");
  private static final Set<String> AGGREGATIONS = Set.of("sum", "min", "max", "avg", "group", "stddev", "stdvar",
      "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio");
  /** Modifiers followed by a parenthesised list of label names ({@code group_left} may have none). */
  private static final Set<String> LABEL_LISTS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right");
  private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "bool", "offset", "inf", "nan", "atan2");
  /** Grafana's {@code label_values(selector, label)} variable query; the selector is PromQL. */
  private static final Pattern LABEL_VALUES = Pattern.compile("^\\s*label_values\\s*\\((.*),\\s*\\w+\\s*\\)\\s*$",
      Pattern.DOTALL);
  /** Grafana's {@code query_result(expr)} variable query. */
  private static final Pattern QUERY_RESULT = Pattern.compile("^\\s*query_result\\s*\\((.*)\\)\\s*$", Pattern.DOTALL);

  /** One PromQL query of the dashboard: where it is ({@code panel title/refId} or {@code $variable}) and its text. */
  record Query(String where, String expr) {}

  /** One metric selector in a PromQL expression and the innermost function or aggregation enclosing it ("" if none). */
  record Selector(String metric, String function) {}

  private GrafanaDashboard() {}

  /** The parsed dashboard JSON; a missing or malformed file fails with its path. */
  static JsonObject read(Path dashboardJson) {
    try {
      JsonElement root = JsonParser.parseString(Files.readString(dashboardJson));
      if (!root.isJsonObject()) {
        throw new IllegalArgumentException(dashboardJson + ": a Grafana dashboard must be a JSON object");
      }
      return root.getAsJsonObject();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read Grafana dashboard " + dashboardJson, e);
    } catch (JsonParseException e) {
      throw new IllegalArgumentException(dashboardJson + ": not valid JSON: " + e.getMessage(), e);
    }
  }

  /** Every panel of the dashboard, rows' nested panels included, in file order (rows themselves too). */
  static List<JsonObject> panels(JsonObject dashboard) {
    List<JsonObject> out = new ArrayList<>();
    collectPanels(dashboard.getAsJsonArray("panels"), out);
    return out;
  }

  private static void collectPanels(JsonArray panels, List<JsonObject> out) {
    if (panels == null) {
      return;
    }
    for (JsonElement p : panels) {
      JsonObject panel = p.getAsJsonObject();
      out.add(panel);
      collectPanels(panel.getAsJsonArray("panels"), out);
    }
  }

  /**
   * Every PromQL query of the dashboard: each panel target's {@code expr}, then the PromQL inside each query
   * variable ({@code label_values(selector, label)} or {@code query_result(expr)}; {@code label_values(label)} has none).
   */
  static List<Query> queries(JsonObject dashboard) {
    List<Query> out = new ArrayList<>();
    for (JsonObject panel : panels(dashboard)) {
      JsonArray targets = panel.getAsJsonArray("targets");
      if (targets == null) {
        continue;
      }
      for (JsonElement t : targets) {
        JsonObject target = t.getAsJsonObject();
        if (target.has("expr")) {
          out.add(new Query(text(panel, "title") + "/" + text(target, "refId"), target.get("expr").getAsString()));
        }
      }
    }
    for (JsonObject variable : variables(dashboard)) {
      if (!"query".equals(text(variable, "type"))) {
        continue;
      }
      JsonElement q = variable.get("query");
      String query = q == null ? "" : q.isJsonObject() ? text(q.getAsJsonObject(), "query") : q.getAsString();
      for (Pattern p : List.of(LABEL_VALUES, QUERY_RESULT)) {
        Matcher m = p.matcher(query);
        if (m.matches()) {
          out.add(new Query("$" + text(variable, "name"), m.group(1)));
          break;
        }
      }
    }
    return out;
  }

  /** The templating variables of the dashboard. */
  static List<JsonObject> variables(JsonObject dashboard) {
    List<JsonObject> out = new ArrayList<>();
    JsonObject templating = dashboard.getAsJsonObject("templating");
    if (templating != null && templating.has("list")) {
      templating.getAsJsonArray("list").forEach(v -> out.add(v.getAsJsonObject()));
    }
    return out;
  }

  /** Every metric name (as written, e.g. {@code x_bucket}) that any query of the dashboard selects, sorted. */
  static Set<String> metricNames(Path dashboardJson) {
    Set<String> names = new TreeSet<>();
    for (Query q : queries(read(dashboardJson))) {
      names.addAll(metricNames(q.expr()));
    }
    return names;
  }

  /** The metric names one PromQL expression selects, sorted. */
  static Set<String> metricNames(String promql) {
    Set<String> names = new TreeSet<>();
    for (Selector s : selectors(promql)) {
      names.add(s.metric());
    }
    return names;
  }

  /** {@code names} with histogram and summary series ({@code x_bucket}, {@code x_count}, {@code x_sum}, {@code x_max}) mapped to {@code x}. */
  static Set<String> baseNames(Collection<String> names) {
    Set<String> out = new TreeSet<>();
    for (String name : names) {
      out.add(baseName(name));
    }
    return out;
  }

  /** {@code name} without a histogram or summary series suffix. */
  static String baseName(String name) {
    for (String suffix : HISTOGRAM_SUFFIXES) {
      if (name.endsWith(suffix) && name.length() > suffix.length()) {
        return name.substring(0, name.length() - suffix.length());
      }
    }
    return name;
  }

  /** The metric selectors of one PromQL expression in order, each with its innermost enclosing function. */
  static List<Selector> selectors(String promql) {
    List<Selector> out = new ArrayList<>();
    Deque<String> calls = new ArrayDeque<>(); // one entry per open '(': the function it calls, "" for grouping
    String pending = ""; // a function or aggregation whose '(' comes next
    int n = promql.length();
    int i = 0;
    while (i < n) {
      char c = promql.charAt(i);
      if (Character.isWhitespace(c)) {
        i++;
      } else if (c == '"' || c == '\'' || c == '`') {
        i = skipString(promql, i);
      } else if (c == '#') {
        int eol = promql.indexOf('\n', i);
        i = eol < 0 ? n : eol;
      } else if (c == '$') {
        i = skipVariable(promql, i);
      } else if (c == '[') {
        i = skipBalanced(promql, i, '[', ']');
      } else if (c == '{') {
        int end = skipBalanced(promql, i, '{', '}');
        String name = nameMatcher(promql.substring(i + 1, Math.max(i + 1, end - 1)));
        if (name != null) {
          out.add(new Selector(name, calls.isEmpty() ? "" : calls.peek()));
        }
        i = end;
      } else if (c == '(') {
        calls.push(pending);
        pending = "";
        i++;
      } else if (c == ')') {
        if (!calls.isEmpty()) {
          calls.pop();
        }
        i++;
      } else if (Character.isDigit(c) || c == '.' && i + 1 < n && Character.isDigit(promql.charAt(i + 1))) {
        i = skipNumber(promql, i);
      } else if (isIdentifierStart(c)) {
        int end = identifierEnd(promql, i);
        String word = promql.substring(i, end);
        int next = skipSpaces(promql, end);
        char following = next < n ? promql.charAt(next) : 0;
        if (LABEL_LISTS.contains(word)) {
          i = following == '(' ? skipBalanced(promql, next, '(', ')') : end;
        } else if (KEYWORDS.contains(word.toLowerCase(Locale.ROOT))) {
          i = end;
        } else if (following == '(' || AGGREGATIONS.contains(word) && startsLabelList(promql, next)) {
          pending = word;
          i = end;
        } else {
          out.add(new Selector(word, calls.isEmpty() ? "" : calls.peek()));
          i = end;
        }
      } else {
        i++; // operators, commas, '@'
      }
    }
    return out;
  }

  /** The value of an equality {@code __name__="x"} matcher among {@code matchers}, or null. */
  private static String nameMatcher(String matchers) {
    Matcher m = Pattern.compile("(?:^|,)\\s*__name__\\s*=\\s*([\"'`])([^\"'`]*)\\1").matcher(matchers);
    return m.find() ? m.group(2) : null;
  }

  private static boolean startsLabelList(String s, int i) {
    if (i >= s.length() || !isIdentifierStart(s.charAt(i))) {
      return false;
    }
    String word = s.substring(i, identifierEnd(s, i));
    return word.equals("by") || word.equals("without");
  }

  private static boolean isIdentifierStart(char c) {
    return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':';
  }

  private static int identifierEnd(String s, int i) {
    int j = i;
    while (j < s.length() && (isIdentifierStart(s.charAt(j)) || Character.isDigit(s.charAt(j)))) {
      j++;
    }
    return j;
  }

  private static int skipSpaces(String s, int i) {
    int j = i;
    while (j < s.length() && Character.isWhitespace(s.charAt(j))) {
      j++;
    }
    return j;
  }

  /** Past a number or duration literal: {@code 0.95}, {@code 1e3}, {@code 0x1F}, {@code 5m}, {@code 1h30m}. */
  private static int skipNumber(String s, int i) {
    int j = i;
    while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '.' || s.charAt(j) == '_')) {
      j++;
    }
    return j;
  }

  /** Past a quoted string starting at {@code i}; backslash escapes apply except in backtick strings. */
  private static int skipString(String s, int i) {
    char quote = s.charAt(i);
    int j = i + 1;
    while (j < s.length() && s.charAt(j) != quote) {
      j += quote != '`' && s.charAt(j) == '\\' ? 2 : 1;
    }
    return Math.min(j + 1, s.length());
  }

  /** Past a Grafana variable: {@code $name}, {@code $__rate_interval}, {@code ${name}} or {@code ${name:format}}. */
  private static int skipVariable(String s, int i) {
    if (i + 1 < s.length() && s.charAt(i + 1) == '{') {
      int close = s.indexOf('}', i);
      return close < 0 ? s.length() : close + 1;
    }
    return identifierEnd(s, i + 1);
  }

  /** Past the bracket that closes the one opening at {@code i}, skipping strings and nested brackets. */
  private static int skipBalanced(String s, int i, char open, char close) {
    int depth = 0;
    int j = i;
    while (j < s.length()) {
      char c = s.charAt(j);
      if (c == '"' || c == '\'' || c == '`') {
        j = skipString(s, j);
        continue;
      }
      if (c == open) {
        depth++;
      } else if (c == close && --depth == 0) {
        return j + 1;
      }
      j++;
    }
    return s.length();
  }

  private static String text(JsonObject o, String key) {
    JsonElement e = o.get(key);
    return e == null || e.isJsonNull() ? "" : e.getAsString();
  }
}
