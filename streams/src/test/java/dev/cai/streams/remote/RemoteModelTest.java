package dev.cai.streams.remote;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cai.runtime.tokenizer.ChatTemplate;
import java.net.URI;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RemoteModelTest {
  @Test
  void shouldParseBaseUrlModelAndParameters() {
    RemoteModel m = RemoteModel.parse("openai:https://gpu-7.lab:8000/v1/#meta-llama/Llama-3.1-8B-Instruct"
        + "?api-key-env=VLLM_KEY&template=transcript");
    assertEquals(URI.create("https://gpu-7.lab:8000/v1"), m.baseUrl());
    assertEquals("meta-llama/Llama-3.1-8B-Instruct", m.model());
    assertEquals(Optional.of("VLLM_KEY"), m.apiKeyEnv());
    assertEquals(ChatTemplate.Format.TRANSCRIPT, m.template());
    assertEquals(URI.create("https://gpu-7.lab:8000/v1/completions"), m.endpoint("completions"));
    assertEquals("openai:https://gpu-7.lab:8000/v1#meta-llama/Llama-3.1-8B-Instruct", m.id());
    assertEquals("openai:https://gpu-7.lab:8000/v1#meta-llama/Llama-3.1-8B-Instruct?api-key-env=VLLM_KEY"
        + "&template=transcript", m.spec());
    assertEquals(m, RemoteModel.parse(m.spec()));
  }

  @Test
  void shouldDefaultToChatMlAndNoKeyVariable() {
    RemoteModel m = RemoteModel.parse("openai:http://127.0.0.1:8000/v1#llama3:8b");
    assertEquals("llama3:8b", m.model());
    assertEquals(Optional.empty(), m.apiKeyEnv());
    assertEquals(ChatTemplate.Format.CHATML, m.chatTemplate().format());
    assertEquals("openai:http://127.0.0.1:8000/v1#llama3:8b", m.spec());
  }

  @Test
  void shouldRejectMalformedSpecsNamingTheProblem() {
    assertProblem("openai:http://127.0.0.1:8000/v1", "no #MODEL after the base URL");
    assertProblem("openai:http://127.0.0.1:8000/v1#", "the model name '' must be non-empty");
    assertProblem("openai:ftp://host/v1#m", "the base URL 'ftp://host/v1' must start with http:// or https://");
    assertProblem("openai:127.0.0.1:8000/v1#m", "the base URL '127.0.0.1:8000/v1' must start with http:// or https://");
    assertProblem("openai:http:///v1#m", "the base URL http:///v1 must be http:// or https:// with a host");
    assertProblem("openai:http://h/v1?x=1#m", "must have no query");
    assertProblem("openai:http://h/v1#m?timeout=3", "unknown parameter 'timeout' (known: api-key-env, template)");
    assertProblem("openai:http://h/v1#m?template=jinja", "template must be chatml or transcript, got 'jinja'");
    assertProblem("openai:http://h/v1#m?api-key-env=1BAD", "api-key-env '1BAD' is not an environment variable name");
    assertProblem("openai:http://h/v1#m?template", "parameter 'template' is not KEY=VALUE");
    assertProblem("openai:http://h/v1#m?template=chatml&template=chatml", "parameter 'template' is given twice");
  }

  private static void assertProblem(String spec, String problem) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RemoteModel.parse(spec));
    assertTrue(e.getMessage().startsWith("model spec '" + spec + "': "), e.getMessage());
    assertTrue(e.getMessage().contains(problem), e.getMessage());
    assertTrue(e.getMessage().endsWith("; the syntax is " + RemoteModel.SYNTAX), e.getMessage());
  }

  @Test
  void shouldReadTheApiKeyFromTheNamedVariableElseTheDefault() {
    RemoteModel named = RemoteModel.parse("openai:http://h/v1#m?api-key-env=MY_KEY");
    RemoteModel plain = RemoteModel.parse("openai:http://h/v1#m");
    assertEquals(Optional.of("k1"), named.apiKey(Map.of("MY_KEY", "k1", RemoteModel.DEFAULT_KEY_ENV, "k2")));
    assertEquals(Optional.of("k2"), plain.apiKey(Map.of("MY_KEY", "k1", RemoteModel.DEFAULT_KEY_ENV, "k2")));
    assertEquals(Optional.empty(), plain.apiKey(Map.of()));
    assertEquals(Optional.empty(), plain.apiKey(Map.of(RemoteModel.DEFAULT_KEY_ENV, "")));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> named.apiKey(Map.of(RemoteModel.DEFAULT_KEY_ENV, "k2")));
    assertEquals("model spec 'openai:http://h/v1#m?api-key-env=MY_KEY': the environment variable MY_KEY named by "
        + "api-key-env is not set", e.getMessage());
  }
}
