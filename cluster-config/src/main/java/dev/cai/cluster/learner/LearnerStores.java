package dev.cai.cluster.learner;

import dev.cai.persistence.RecordStore;
import dev.cai.persistence.StoreSettings;
import dev.cai.protocol.v1.LearnerStateHeader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Which store the learner singleton runs on when it starts on a node: the rule is "the newer committed policy
 * version wins, a tie keeps the node's own store". The node's own store ({@code DIR/store}) holds what this node
 * committed when it was the active learner; the newest shipped checkpoint holds what the last active learner
 * committed at most K updates before it died. A store that loses is moved aside ({@code DIR/store.superseded-<ms>}),
 * never deleted.
 */
public final class LearnerStores {
  /** The store directory inside a learner's node-local directory. */
  public static final String STORE = "store";

  private LearnerStores() {}

  /** Where the store came from. */
  public enum Source {
    /** This node's own store, newer than (or as new as) every shipped checkpoint. */
    OWN,
    /** Restored from the newest shipped checkpoint. */
    SHIPPED,
    /** Neither exists: the run starts at version 0. */
    FRESH
  }

  /** The open store, where it came from, its committed version and the checkpoint it was restored from. */
  public record Opened(RecordStore store, Source source, long version, Optional<ShippedCheckpoints.Installed> shipped) {
    /** One line for the log: what the learner resumes from. */
    public String describe() {
      return switch (source) {
        case OWN -> "its own store " + store.location() + " at version " + version;
        case SHIPPED -> "shipped checkpoint " + shipped.orElseThrow().id() + " at version " + version;
        case FRESH -> "a fresh store " + store.location() + " (no own store, no shipped checkpoint)";
      };
    }
  }

  /** The rule: the newer version wins; a tie keeps the own store; nothing at all starts fresh. */
  public static Source choose(Optional<Long> own, Optional<Long> shipped) {
    if (shipped.isPresent() && (own.isEmpty() || shipped.get() > own.get())) {
      return Source.SHIPPED;
    }
    return own.isPresent() ? Source.OWN : Source.FRESH;
  }

  /**
   * Opens the store the rule picks in {@code dir} (blocking). An own store that cannot be opened is moved aside and
   * reported, like one that is older than the newest shipped checkpoint.
   */
  public static Opened open(Path dir, ShippedCheckpoints shipped, StoreSettings settings, Consumer<String> events) {
    Path storeDir = dir.resolve(STORE);
    Optional<ShippedCheckpoints.Installed> latest = shipped.latest(events);
    RecordStore own = null;
    Optional<Long> ownVersion = Optional.empty();
    if (!isAbsentOrEmpty(storeDir)) {
      try {
        own = RecordStore.open(storeDir, settings);
        ownVersion = Optional.of(own.learnerHeader().map(LearnerStateHeader::getPolicyVersion).orElse(0L));
      } catch (RuntimeException e) {
        if (own != null) {
          own.close();
          own = null;
        }
        Path aside = moveAside(storeDir, "unreadable");
        events.accept("own store " + storeDir + " cannot be used (" + e.getMessage() + "): moved to " + aside);
      }
    }
    Source source = choose(ownVersion, latest.map(ShippedCheckpoints.Installed::version));
    switch (source) {
      case OWN -> {
        return new Opened(own, source, ownVersion.orElseThrow(), Optional.empty());
      }
      case SHIPPED -> {
        if (own != null) {
          own.close();
          Path aside = moveAside(storeDir, "superseded");
          events.accept("own store at version " + ownVersion.orElseThrow() + " is older than shipped checkpoint "
              + latest.get().id() + " at version " + latest.get().version() + ": moved to " + aside);
        }
        RecordStore restored = RecordStore.restore(latest.get().store(), storeDir, settings);
        long v = restored.learnerHeader().map(LearnerStateHeader::getPolicyVersion).orElse(0L);
        return new Opened(restored, source, v, latest);
      }
      default -> {
        return new Opened(RecordStore.open(storeDir, settings), source, 0, Optional.empty());
      }
    }
  }

  private static Path moveAside(Path storeDir, String why) {
    Path aside = storeDir.resolveSibling(storeDir.getFileName() + "." + why + "-" + System.currentTimeMillis());
    try {
      return Files.move(storeDir, aside);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot move " + storeDir + " aside to " + aside + ": " + e.getMessage(), e);
    }
  }

  private static boolean isAbsentOrEmpty(Path dir) {
    if (!Files.exists(dir)) {
      return true;
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.findAny().isEmpty();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
    }
  }
}
