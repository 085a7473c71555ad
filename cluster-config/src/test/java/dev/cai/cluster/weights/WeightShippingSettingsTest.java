package dev.cai.cluster.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class WeightShippingSettingsTest {
  @Test
  void shouldReadTheDocumentedDefaultsUnderTheNodesOwnSettings() {
    assertEquals(new WeightShippingSettings(131072, 16, Duration.ofSeconds(30), 3, Duration.ofMinutes(2)),
        WeightShippingSettings.fromConfig(ConfigFactory.load()));
    assertEquals(new WeightShippingSettings(65536, 4, Duration.ofSeconds(30), 3, Duration.ofMinutes(2)),
        WeightShippingSettings.fromConfig(ConfigFactory.parseString(
            "cai.cluster.weights { chunk-bytes = 64 KiB, window = 4 }").withFallback(ConfigFactory.load())));
  }

  @Test
  void shouldRefuseAChunkSizeThatDoesNotFitAnArteryFrame() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WeightShippingSettings.fromConfig(
        ConfigFactory.parseString("cai.cluster.weights.chunk-bytes = 256 KiB").withFallback(ConfigFactory.load())));
    assertEquals("cai.cluster.weights.chunk-bytes 262144 does not fit an Artery frame:"
        + " pekko.remote.artery.advanced.maximum-frame-size is 262144 and a chunk needs 8192 bytes beside its data",
        e.getMessage());
  }

  @Test
  void shouldAllowChunksUpToTheLargeFrameSizeWhenTheReplicaIsALargeMessageDestination() {
    String large = "pekko.remote.artery.large-message-destinations = [\"/system/weight-replica/*\"]\n";
    assertEquals(1048576, WeightShippingSettings.fromConfig(ConfigFactory.parseString(
        large + "cai.cluster.weights.chunk-bytes = 1 MiB").withFallback(ConfigFactory.load())).chunkBytes());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WeightShippingSettings.fromConfig(
        ConfigFactory.parseString(large + "cai.cluster.weights.chunk-bytes = 2 MiB").withFallback(ConfigFactory.load())));
    assertEquals("cai.cluster.weights.chunk-bytes 2097152 does not fit an Artery frame:"
        + " pekko.remote.artery.advanced.maximum-large-frame-size is 2097152 and a chunk needs 8192 bytes beside its"
        + " data", e.getMessage());
  }

  @Test
  void shouldRefuseValuesOutOfRangeNamingTheKey() {
    assertEquals("cai.cluster.weights.chunk-bytes must be a positive multiple of 4, got 1001", assertThrows(
        IllegalArgumentException.class, () -> new WeightShippingSettings(1001, 16, Duration.ofSeconds(1), 3,
            Duration.ofSeconds(1))).getMessage());
    assertEquals("cai.cluster.weights.window must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
        () -> new WeightShippingSettings(1024, 0, Duration.ofSeconds(1), 3, Duration.ofSeconds(1))).getMessage());
    assertEquals("cai.cluster.weights.max-attempts must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
        () -> new WeightShippingSettings(1024, 1, Duration.ofSeconds(1), 0, Duration.ofSeconds(1))).getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> new WeightShippingSettings(1024, 1, Duration.ZERO, 1, Duration.ofSeconds(1)));
  }
}
