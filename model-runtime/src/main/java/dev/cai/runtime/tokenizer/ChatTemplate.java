package dev.cai.runtime.tokenizer;

import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Renders a conversation as model input text: ChatML ({@code <|im_start|>role\ncontent<|im_end|>\n}, as SmolLM2
 * and Qwen use) or the plain {@code \n\nHuman: …\n\nAssistant:} transcript of the Constitutional AI paper's prompts.
 */
public final class ChatTemplate {
  /** The two supported formats. */
  public enum Format { CHATML, TRANSCRIPT }

  public static final String IM_START = "<|im_start|>";
  public static final String IM_END = "<|im_end|>";

  /** SmolLM2-style templates insert a default system turn when the conversation has none. */
  private static final Pattern DEFAULT_SYSTEM = Pattern.compile(
      "<\\|im_start\\|>system(?:\\\\n|\\n)(.*?)<\\|im_end\\|>", Pattern.DOTALL);

  private final Format format;
  private final String defaultSystemPrompt;

  private ChatTemplate(Format format, String defaultSystemPrompt) {
    this.format = format;
    this.defaultSystemPrompt = defaultSystemPrompt;
  }

  /** ChatML without a default system turn. */
  public static ChatTemplate chatMl() {
    return new ChatTemplate(Format.CHATML, null);
  }

  /** ChatML that starts with {@code defaultSystemPrompt} as a system turn when the first message is not one. */
  public static ChatTemplate chatMl(String defaultSystemPrompt) {
    return new ChatTemplate(Format.CHATML, defaultSystemPrompt);
  }

  /** The paper's plain transcript: {@code \n\nHuman: …\n\nAssistant: …}. */
  public static ChatTemplate transcript() {
    return new ChatTemplate(Format.TRANSCRIPT, null);
  }

  /**
   * The template a model's Jinja chat template ({@code tokenizer.chat_template}) stands for: ChatML when it
   * mentions {@code <|im_start|>} (keeping a default system prompt it inserts), else the plain transcript.
   */
  public static ChatTemplate fromJinja(String jinja) {
    if (jinja == null || !jinja.contains(IM_START)) {
      return transcript();
    }
    if (jinja.contains("!= 'system'") || jinja.contains("!= \"system\"")) {
      Matcher m = DEFAULT_SYSTEM.matcher(jinja);
      if (m.find()) {
        return chatMl(m.group(1).replace("\\n", "\n"));
      }
    }
    return chatMl();
  }

  public Format format() {
    return format;
  }

  public Optional<String> defaultSystemPrompt() {
    return Optional.ofNullable(defaultSystemPrompt);
  }

  /** Text that ends an assistant turn: {@code <|im_end|>} for ChatML, the next {@code \n\nHuman:} otherwise. */
  public String endOfTurn() {
    return format == Format.CHATML ? IM_END : "\n\nHuman:";
  }

  /** The conversation as text, followed by the start of an assistant turn when {@code addGenerationPrompt}. */
  public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
    StringBuilder sb = new StringBuilder();
    if (format == Format.CHATML) {
      if (defaultSystemPrompt != null && (messages.isEmpty() || !messages.get(0).role().equals(ChatMessage.SYSTEM))) {
        appendChatMl(sb, ChatMessage.SYSTEM, defaultSystemPrompt);
      }
      for (ChatMessage m : messages) {
        appendChatMl(sb, m.role(), m.content());
      }
      if (addGenerationPrompt) {
        sb.append(IM_START).append(ChatMessage.ASSISTANT).append('\n');
      }
    } else {
      for (ChatMessage m : messages) {
        switch (m.role()) {
          case ChatMessage.SYSTEM -> sb.append(m.content());
          case ChatMessage.USER -> sb.append("\n\nHuman: ").append(m.content());
          case ChatMessage.ASSISTANT -> sb.append("\n\nAssistant: ").append(m.content());
          default -> throw new IllegalArgumentException("The transcript format has no role '" + m.role() + "'");
        }
      }
      if (addGenerationPrompt) {
        sb.append("\n\nAssistant:");
      }
    }
    return sb.toString();
  }

  private static void appendChatMl(StringBuilder sb, String role, String content) {
    sb.append(IM_START).append(role).append('\n').append(content).append(IM_END).append('\n');
  }

  @Override
  public String toString() {
    return "ChatTemplate[" + format + (defaultSystemPrompt != null ? ", default system prompt" : "") + "]";
  }
}
