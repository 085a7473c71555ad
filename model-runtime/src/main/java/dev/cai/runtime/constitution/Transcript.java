package dev.cai.runtime.constitution;

import dev.cai.runtime.tokenizer.ChatMessage;
import dev.cai.runtime.tokenizer.ChatTemplate;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A conversation in the paper's plain-transcript format ({@code "\n\nHuman: ...\n\nAssistant: ..."}),
 * as a list of turns.
 */
public record Transcript(List<Turn> turns) {
  public static final String HUMAN_TAG = "\n\nHuman:";
  public static final String ASSISTANT_TAG = "\n\nAssistant:";

  /** Who speaks a turn. */
  public enum Speaker {
    HUMAN("Human"),
    ASSISTANT("Assistant");

    private final String label;

    Speaker(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }

  /** One turn of a conversation. */
  public record Turn(Speaker speaker, String text) {
    public Turn {
      Objects.requireNonNull(speaker, "speaker");
      Objects.requireNonNull(text, "text");
    }
  }

  public Transcript {
    turns = List.copyOf(turns);
  }

  public static Transcript of(String human, String assistant) {
    return new Transcript(List.of(new Turn(Speaker.HUMAN, human), new Turn(Speaker.ASSISTANT, assistant)));
  }

  public static Transcript ofHuman(String human) {
    return new Transcript(List.of(new Turn(Speaker.HUMAN, human)));
  }

  /**
   * Parses {@code "\n\nHuman: a\n\nAssistant: b ..."}; text before the first tag is rejected, a trailing
   * empty {@code Assistant:} (a generation prompt) is dropped.
   */
  public static Transcript parse(String text) {
    return parse(text, HUMAN_TAG, ASSISTANT_TAG);
  }

  /** Like {@link #parse(String)} with other speaker tags (e.g. {@code "\n\nH:"} / {@code "\n\nA:"}). */
  public static Transcript parse(String text, String humanTag, String assistantTag) {
    List<Turn> turns = new ArrayList<>();
    int pos = nextTag(text, 0, humanTag, assistantTag);
    if (pos != 0 && !text.isBlank()) {
      String head = pos < 0 ? text : text.substring(0, pos);
      if (!head.isBlank()) {
        throw new IllegalArgumentException("Transcript must start with " + quote(humanTag) + "; it starts with: "
            + abbreviate(head));
      }
    }
    while (pos >= 0) {
      Speaker speaker = text.startsWith(humanTag, pos) ? Speaker.HUMAN : Speaker.ASSISTANT;
      int start = pos + (speaker == Speaker.HUMAN ? humanTag.length() : assistantTag.length());
      int next = nextTag(text, start, humanTag, assistantTag);
      String body = (next < 0 ? text.substring(start) : text.substring(start, next)).strip();
      turns.add(new Turn(speaker, body));
      pos = next;
    }
    if (!turns.isEmpty() && turns.get(turns.size() - 1).speaker() == Speaker.ASSISTANT
        && turns.get(turns.size() - 1).text().isEmpty()) {
      turns.remove(turns.size() - 1);
    }
    return new Transcript(turns);
  }

  /** The transcript as text; with {@code openAssistant} it ends in {@code "\n\nAssistant:"} for generation. */
  public String render(boolean openAssistant) {
    return ChatTemplate.transcript().render(messages(), openAssistant);
  }

  /** The turns as chat messages (human → user, assistant → assistant) for any {@link ChatTemplate}. */
  public List<ChatMessage> messages() {
    return turns.stream()
        .map(t -> t.speaker() == Speaker.HUMAN ? ChatMessage.user(t.text()) : ChatMessage.assistant(t.text()))
        .toList();
  }

  /** A copy with one more turn. */
  public Transcript with(Speaker speaker, String text) {
    List<Turn> more = new ArrayList<>(turns);
    more.add(new Turn(speaker, text));
    return new Transcript(more);
  }

  /** Text of the first human turn, or "" when there is none. */
  public String firstHuman() {
    return turns.stream().filter(t -> t.speaker() == Speaker.HUMAN).map(Turn::text).findFirst().orElse("");
  }

  private static int nextTag(String text, int from, String humanTag, String assistantTag) {
    int h = text.indexOf(humanTag, from);
    int a = text.indexOf(assistantTag, from);
    if (h < 0) {
      return a;
    }
    return a < 0 ? h : Math.min(h, a);
  }

  private static String quote(String tag) {
    return "\"" + tag.replace("\n", "\\n") + "\"";
  }

  static String abbreviate(String s) {
    String one = s.strip().replace("\n", "\\n");
    return one.length() <= 60 ? "\"" + one + "\"" : "\"" + one.substring(0, 57) + "...\"";
  }
}
