package dev.cai.streams.remote;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class RemoteSettingsTest {
  @Test
  void shouldReadTheDocumentedDefaults() {
    assertEquals(new RemoteSettings(Duration.ofSeconds(10), Duration.ofMinutes(5), 4, Duration.ofMillis(500),
        Duration.ofSeconds(30), 16), RemoteSettings.defaults());
  }

  @Test
  void shouldDoubleTheBackoffUpToItsCap() {
    RemoteSettings s = new RemoteSettings(Duration.ofSeconds(1), Duration.ofSeconds(1), 9, Duration.ofMillis(500),
        Duration.ofSeconds(3), 1);
    assertEquals(Duration.ofMillis(500), s.backoff(0));
    assertEquals(Duration.ofMillis(1000), s.backoff(1));
    assertEquals(Duration.ofMillis(2000), s.backoff(2));
    assertEquals(Duration.ofMillis(3000), s.backoff(3));
    assertEquals(Duration.ofMillis(3000), s.backoff(60));
  }

  @Test
  void shouldRejectBadValuesNamingTheKey() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RemoteSettings.fromConfig(
        ConfigFactory.parseString("max-concurrency = 0").withFallback(RemoteSettings.defaultsConfig())));
    assertEquals("cai.remote: max-concurrency must be >= 1, got 0", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> RemoteSettings.fromConfig(
        ConfigFactory.parseString("max-backoff = 100ms").withFallback(RemoteSettings.defaultsConfig())));
    assertEquals("cai.remote: max-backoff must be >= initial-backoff, got PT0.1S < PT0.5S", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> RemoteSettings.fromConfig(
        ConfigFactory.parseString("request-timeout = soon").withFallback(RemoteSettings.defaultsConfig())));
    assertEquals(true, e.getMessage().startsWith("cai.remote: ") && e.getMessage().contains("request-timeout"),
        e.getMessage());
  }
}
