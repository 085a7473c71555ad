package dev.cai.streams;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.cai.persistence.RecordKind;
import dev.cai.persistence.RecordStore;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.function.Function;

/** Writes JSONL exports atomically (a temp file renamed over the target), so a reader never sees half a file. */
final class JsonlFiles {
  private JsonlFiles() {}

  /**
   * One line per record of {@code kind} for which {@code toJson} gives an object; returns the lines written.
   */
  static <M extends com.google.protobuf.Message> long export(RecordStore store, RecordKind<M> kind, Path target,
      Function<M, Optional<JsonObject>> toJson) {
    Gson gson = new GsonBuilder().disableHtmlEscaping().create();
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    long[] written = {0};
    try {
      if (target.getParent() != null) {
        Files.createDirectories(target.getParent());
      }
      try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
        store.forEach(kind, 0, stored -> toJson.apply(stored.record()).ifPresent(o -> {
          try {
            w.write(gson.toJson(o));
            w.write('\n');
            written[0]++;
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }));
      }
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return written[0];
    } catch (IOException | UncheckedIOException e) {
      throw new IllegalStateException("Cannot export " + kind + " to " + target + ": " + e.getMessage(), e);
    }
  }
}
