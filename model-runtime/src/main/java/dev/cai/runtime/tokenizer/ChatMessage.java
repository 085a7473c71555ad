package dev.cai.runtime.tokenizer;

/** One turn of a conversation: a role ({@code system}, {@code user} or {@code assistant}) and its text. */
public record ChatMessage(String role, String content) {
  public static final String SYSTEM = "system";
  public static final String USER = "user";
  public static final String ASSISTANT = "assistant";

  public ChatMessage {
    if (role == null || role.isBlank()) {
      throw new IllegalArgumentException("Chat message role must not be blank");
    }
    if (content == null) {
      throw new IllegalArgumentException("Chat message content must not be null (role " + role + ")");
    }
  }

  public static ChatMessage system(String content) {
    return new ChatMessage(SYSTEM, content);
  }

  public static ChatMessage user(String content) {
    return new ChatMessage(USER, content);
  }

  public static ChatMessage assistant(String content) {
    return new ChatMessage(ASSISTANT, content);
  }
}
