package dev.cai.app;

import dev.cai.persistence.RecordStore;
import dev.cai.streams.PromptReader;
import dev.cai.streams.PromptSource;
import java.util.List;

/** Prompts left in sources after their committed offsets, for progress bars. */
final class PendingPrompts {
  private PendingPrompts() {}

  static long count(List<PromptSource> sources, RecordStore store, long limit) {
    long n = 0;
    for (PromptSource ps : sources) {
      try (PromptReader r = PromptReader.open(ps.file(), store.resumeOffset(ps.id()), ps.helpful())) {
        while (r.hasNext()) {
          long offset = r.next().getSourceOffset(); // consumed whatever the limit (limit 0 once looped forever)
          if (limit > 0 && offset > limit) {
            break;
          }
          n++;
        }
      }
    }
    return n;
  }
}
