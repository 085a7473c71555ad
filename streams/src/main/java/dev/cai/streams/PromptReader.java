package dev.cai.streams;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.cai.protocol.v1.Prompt;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.constitution.Transcript.Speaker;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.zip.GZIPInputStream;

/**
 * Reads prompts from a JSONL file (optionally gzip-compressed, by the {@code .gz} suffix), one per line,
 * in any of these shapes:
 * <ul>
 *   <li>{@code {"prompt": "How do I ...?"}} — a single human turn;</li>
 *   <li>{@code {"prompt": "\n\nHuman: ...\n\nAssistant: ...\n\nHuman: ...\n\nAssistant:"}} — an hh-rlhf style
 *       transcript: the last human turn is the prompt, earlier turns its context;</li>
 *   <li>{@code {"chosen": "...", "rejected": "..."}} — an hh-rlhf comparison: the conversation before the final
 *       assistant reply.</li>
 * </ul>
 * The offset of a prompt is its 1-based line number, so a stream resumes after the last committed line.
 * Blank lines are skipped; a malformed line fails with the file and line number. A line may also carry
 * {@code "id"} and {@code "helpful"} (see {@link #parseLine}).
 */
public final class PromptReader implements Iterator<Prompt>, AutoCloseable {
  private final Path file;
  private final BufferedReader reader;
  private final boolean helpful;
  private long line;
  private Prompt next;

  private PromptReader(Path file, BufferedReader reader, boolean helpful) {
    this.file = file;
    this.reader = reader;
    this.helpful = helpful;
  }

  /** Opens {@code file} and skips the first {@code afterLine} lines (already consumed). */
  public static PromptReader open(Path file, long afterLine, boolean helpful) {
    if (!Files.isRegularFile(file)) {
      throw new PromptFileException(file + ": prompt file does not exist");
    }
    try {
      InputStream in = Files.newInputStream(file);
      if (file.getFileName().toString().endsWith(".gz")) {
        in = new GZIPInputStream(in, 1 << 16);
      }
      PromptReader r = new PromptReader(file, new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)), helpful);
      while (r.line < afterLine && r.reader.readLine() != null) {
        r.line++;
      }
      return r;
    } catch (IOException e) {
      throw new PromptFileException(file + ": cannot read: " + e.getMessage(), e);
    }
  }

  /** Reads a whole (small) prompt file. */
  public static List<Prompt> readAll(Path file, boolean helpful) {
    try (PromptReader r = open(file, 0, helpful)) {
      List<Prompt> all = new java.util.ArrayList<>();
      r.forEachRemaining(all::add);
      return all;
    }
  }

  @Override
  public boolean hasNext() {
    if (next != null) {
      return true;
    }
    try {
      String text;
      while ((text = reader.readLine()) != null) {
        line++;
        if (!text.isBlank()) {
          next = parse(text);
          return true;
        }
      }
      return false;
    } catch (IOException e) {
      throw new UncheckedIOException(file + ":" + line + ": cannot read: " + e.getMessage(), e);
    }
  }

  @Override
  public Prompt next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    Prompt p = next;
    next = null;
    return p;
  }

  /** Line number of the last prompt returned (its offset). */
  public long line() {
    return line;
  }

  private Prompt parse(String text) {
    return parseLine(file, line, text, helpful);
  }

  /**
   * Parses one non-blank line of a prompt file (any of the shapes above) into a prompt whose offset is
   * {@code line}; the same rules for every reader of prompt files (this one and {@link LivePrompts}).
   * A line may carry {@code "id"} (default {@code FILE_NAME:LINE}) and {@code "helpful": true|false}, which
   * overrides {@code helpful} of its source.
   *
   * @throws PromptFileException whose message starts with {@code file:line}
   */
  public static Prompt parseLine(Path file, long line, String text, boolean helpful) {
    return new LineParser(file, line).parse(text, helpful);
  }

  /** The parser of one line; every error names the file and the line. */
  private record LineParser(Path file, long line) {
    Prompt parse(String text, boolean helpful) {
      JsonObject o;
      try {
        JsonElement e = JsonParser.parseString(text);
        if (!e.isJsonObject()) {
          throw error("expected a JSON object");
        }
        o = e.getAsJsonObject();
      } catch (JsonParseException e) {
        throw error("not valid JSON: " + e.getMessage());
      }
      Transcript conversation;
      if (o.has("prompt")) {
        String p = string(o, "prompt");
        conversation = p.startsWith(Transcript.HUMAN_TAG) ? transcript(p) : Transcript.ofHuman(p.strip());
      } else if (o.has("chosen")) {
        Transcript t = transcript(string(o, "chosen"));
        int lastHuman = lastHumanTurn(t);
        conversation = new Transcript(t.turns().subList(0, lastHuman + 1));
      } else {
        throw error("needs a \"prompt\" or a \"chosen\" field");
      }
      int last = lastHumanTurn(conversation);
      if (last != conversation.turns().size() - 1) {
        throw error("the conversation must end with a human turn");
      }
      String human = conversation.turns().get(last).text();
      if (human.isBlank()) {
        throw error("the prompt is empty");
      }
      String id = o.has("id") ? string(o, "id") : file.getFileName() + ":" + line;
      if (id.isBlank()) {
        throw error("\"id\" must not be empty");
      }
      return Prompt.newBuilder()
          .setId(id)
          .setText(human)
          .setContext(new Transcript(conversation.turns().subList(0, last)).render(false))
          .setSource(file.toString())
          .setSourceOffset(line)
          .setHelpful(o.has("helpful") ? bool(o, "helpful") : helpful)
          .build();
    }

    private int lastHumanTurn(Transcript t) {
      for (int i = t.turns().size() - 1; i >= 0; i--) {
        if (t.turns().get(i).speaker() == Speaker.HUMAN) {
          return i;
        }
      }
      throw error("the transcript has no human turn");
    }

    private Transcript transcript(String text) {
      try {
        return Transcript.parse(text);
      } catch (IllegalArgumentException e) {
        throw error(e.getMessage());
      }
    }

    private String string(JsonObject o, String key) {
      JsonElement e = o.get(key);
      if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
        throw error("\"" + key + "\" must be a string");
      }
      return e.getAsString();
    }

    private boolean bool(JsonObject o, String key) {
      JsonElement e = o.get(key);
      if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
        throw error("\"" + key + "\" must be true or false");
      }
      return e.getAsBoolean();
    }

    private PromptFileException error(String problem) {
      return new PromptFileException(file + ":" + line + ": " + problem);
    }
  }

  @Override
  public void close() {
    try {
      reader.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A prompt file that cannot be read; the message starts with {@code file:line}. */
  public static final class PromptFileException extends RuntimeException {
    public PromptFileException(String message) {
      super(message);
    }

    public PromptFileException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
