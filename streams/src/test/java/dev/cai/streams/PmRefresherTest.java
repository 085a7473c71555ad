package dev.cai.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** The schedule of continual RLAIF: which batches pair their prompts, which PM version scores a batch. */
class PmRefresherTest {
  @Test
  void shouldPairTheLastBatchBeforeEachRefreshAndScoreLaterBatchesWithIt() {
    assertEquals(List.of(2L, 5L, 8L), LongStream.range(0, 10).filter(k -> PmRefresher.pairsBatch(k, 3)).boxed().toList());
    assertEquals(List.of(0L, 0L, 0L, 1L, 1L, 1L, 2L, 2L, 2L, 3L),
        LongStream.range(0, 10).map(k -> PmRefresher.version(k, 3)).boxed().toList());
    // a pairs batch is scored by the version before the refresh its pairs train
    LongStream.range(0, 50).filter(k -> PmRefresher.pairsBatch(k, 4))
        .forEach(k -> assertEquals(PmRefresher.version(k, 4) + 1, PmRefresher.version(k + 1, 4)));
    assertTrue(LongStream.range(0, 10).noneMatch(k -> PmRefresher.pairsBatch(k, 0)), "off");
    assertEquals(0, PmRefresher.version(99, 0));
    assertEquals(Path.of("r/v0012"), PmRefresher.dir(Path.of("r"), 12));
  }

  @Test
  void shouldReadItsSettingsAndNameABadOne() {
    var c = ConfigFactory.load().getConfig("cai.rl.continual");
    PmRefresher.Settings s = PmRefresher.Settings.fromConfig(c, 5);
    assertEquals(0, s.every(), "off by default");
    assertEquals(5, s.training().seed());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PmRefresher.Settings.fromConfig(
        ConfigFactory.parseString("pairs = 0").withFallback(c), 5));
    assertTrue(e.getMessage().startsWith("cai.rl.continual:"), e.getMessage());
  }
}
