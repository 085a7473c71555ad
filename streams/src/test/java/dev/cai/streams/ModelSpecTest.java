package dev.cai.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ModelSpecTest {
  @Test
  void shouldTellRemoteSpecsFromPaths() {
    ModelSpec local = ModelSpec.parse("models/smollm2-135m-instruct-q4_1.gguf");
    assertEquals(new ModelSpec.Local(Path.of("models/smollm2-135m-instruct-q4_1.gguf")), local);
    assertEquals("smollm2-135m-instruct-q4_1", local.id());
    ModelSpec remote = ModelSpec.parse("openai:http://127.0.0.1:8000/v1#smol");
    assertInstanceOf(ModelSpec.Remote.class, remote);
    assertEquals("openai:http://127.0.0.1:8000/v1#smol", remote.id());
  }

  @Test
  void shouldReadClusterRolesAndRefuseUnknownOnes() {
    assertEquals(new ModelSpec.Cluster("policy"), ModelSpec.parse("cluster:policy"));
    assertEquals(new ModelSpec.Cluster("feedback"), ModelSpec.parse("cluster:feedback"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelSpec.parse("cluster:critic"));
    assertEquals("model spec 'cluster:critic': the role must be one of [policy, feedback]", e.getMessage());
  }

  @Test
  void shouldRefuseUrlsOfOtherBackends() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ModelSpec.parse("vllm://127.0.0.1:8000/v1#smol"));
    assertTrue(e.getMessage().startsWith("model spec 'vllm://127.0.0.1:8000/v1#smol': unknown backend 'vllm'; a remote "
        + "model is written openai:"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ModelSpec.parse("http://127.0.0.1:8000/v1"));
    assertTrue(e.getMessage().contains("unknown backend 'http'"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> ModelSpec.parse(" "));
  }
}
