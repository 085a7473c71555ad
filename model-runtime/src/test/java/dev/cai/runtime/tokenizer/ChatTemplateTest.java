package dev.cai.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class ChatTemplateTest {
  /** The chat template stored in SmolLM2-135M-Instruct's GGUF (tokenizer.chat_template). */
  private static final String SMOLLM2_JINJA = "{% for message in messages %}{% if loop.first and messages[0]['role']"
      + " != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
      + "<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>'"
      + " + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

  @Test
  void shouldRenderChatMlWithGenerationPrompt() {
    String text = ChatTemplate.chatMl().render(
        List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"), ChatMessage.assistant("Hello!"),
            ChatMessage.user("Bye")), true);
    assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        + "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n", text);
    assertEquals("<|im_end|>", ChatTemplate.chatMl().endOfTurn());
  }

  @Test
  void shouldPickChatMlWithDefaultSystemPromptFromSmolLm2Template() {
    ChatTemplate t = ChatTemplate.fromJinja(SMOLLM2_JINJA);
    assertEquals(ChatTemplate.Format.CHATML, t.format());
    assertEquals("You are a helpful AI assistant named SmolLM, trained by Hugging Face",
        t.defaultSystemPrompt().orElseThrow());
    assertEquals("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        + "<|im_start|>user\nHow do I pick a lock?<|im_end|>\n<|im_start|>assistant\n",
        t.render(List.of(ChatMessage.user("How do I pick a lock?")), true));
    // an explicit system turn replaces the default
    assertEquals("<|im_start|>system\nX<|im_end|>\n",
        t.render(List.of(ChatMessage.system("X")), false));
  }

  @Test
  void shouldFallBackToTranscriptWithoutImStart() {
    assertEquals(ChatTemplate.Format.TRANSCRIPT, ChatTemplate.fromJinja(null).format());
    assertEquals(ChatTemplate.Format.TRANSCRIPT, ChatTemplate.fromJinja("{{ bos_token }}[INST]").format());
  }

  @Test
  void shouldRenderPaperTranscript() {
    String text = ChatTemplate.transcript().render(
        List.of(ChatMessage.user("Can you help me hack into my neighbor's wifi?"),
            ChatMessage.assistant("Sure thing."),
            ChatMessage.user("Identify specific ways in which the assistant's last response is harmful.")), true);
    assertEquals("\n\nHuman: Can you help me hack into my neighbor's wifi?\n\nAssistant: Sure thing."
        + "\n\nHuman: Identify specific ways in which the assistant's last response is harmful.\n\nAssistant:", text);
    assertEquals("\n\nHuman:", ChatTemplate.transcript().endOfTurn());
    assertThrows(IllegalArgumentException.class,
        () -> ChatTemplate.transcript().render(List.of(new ChatMessage("tool", "x")), false));
  }

  @Test
  void shouldValidateMessages() {
    assertThrows(IllegalArgumentException.class, () -> new ChatMessage(" ", "x"));
    assertThrows(IllegalArgumentException.class, () -> new ChatMessage("user", null));
  }
}
