package dev.cai.cluster.learner;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.cai.persistence.RecordStore;
import dev.cai.protocol.v1.CheckpointOffer;
import dev.cai.runtime.io.CheckpointStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The checkpoints a standby learner received, one directory each under {@code root}: {@code <id>/offer.pb} (what
 * was offered: version, files, SHA-256s) and {@code <id>/store/} (the RocksDB checkpoint). Transfers in progress live
 * in hidden {@code .incoming-<id>} directories and become visible only by an atomic rename when complete.
 */
public final class ShippedCheckpoints {
  /** The offer of an installed checkpoint, beside its files. */
  public static final String OFFER_FILE = "offer.pb";
  /** The RocksDB checkpoint inside an installed checkpoint's directory. */
  public static final String STORE_DIR = "store";
  private static final String INCOMING = ".incoming-";

  /** An installed, complete checkpoint. */
  public record Installed(String id, long version, Path dir, long createdAtMs) {
    /** The RocksDB checkpoint to restore a store from. */
    public Path store() {
      return dir.resolve(STORE_DIR);
    }
  }

  private final Path root;

  public ShippedCheckpoints(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  public Path root() {
    return root;
  }

  /** Starts receiving {@code offer}; its id must be a checkpoint name ({@link RecordStore#CHECKPOINT_NAME}). */
  public CheckpointAssembly begin(CheckpointOffer offer) {
    String id = offer.getCheckpointId();
    if (!RecordStore.CHECKPOINT_NAME.matcher(id).matches()) {
      throw new CheckpointAssembly.Rejected("checkpoint '" + id + "': bad offer: the id must match "
          + RecordStore.CHECKPOINT_NAME);
    }
    return CheckpointAssembly.begin(offer, root.resolve(INCOMING + id), root.resolve(id));
  }

  /** Deletes what crashed transfers left behind; returns their checkpoint ids. */
  public List<String> cleanIncoming() {
    List<String> removed = new ArrayList<>();
    for (Path p : children()) {
      String name = p.getFileName().toString();
      if (name.startsWith(INCOMING)) {
        deleteRecursively(p);
        removed.add(name.substring(INCOMING.length()));
      }
    }
    return removed;
  }

  /** The installed checkpoints, newest (highest version, then latest created) first; unreadable ones are reported. */
  public List<Installed> installed(Consumer<String> problems) {
    List<Installed> all = new ArrayList<>();
    for (Path p : children()) {
      String name = p.getFileName().toString();
      if (name.startsWith(".") || !Files.isDirectory(p)) {
        continue;
      }
      try {
        CheckpointOffer o = CheckpointOffer.parseFrom(Files.readAllBytes(p.resolve(OFFER_FILE)));
        if (!o.getCheckpointId().equals(name) || !Files.isDirectory(p.resolve(STORE_DIR))) {
          problems.accept(p + ": not a complete shipped checkpoint (offer names '" + o.getCheckpointId() + "')");
          continue;
        }
        all.add(new Installed(name, o.getVersion(), p, o.getCreatedAtMs()));
      } catch (NoSuchFileException e) {
        problems.accept(p + ": not a shipped checkpoint (no " + OFFER_FILE + ")");
      } catch (InvalidProtocolBufferException e) {
        problems.accept(p.resolve(OFFER_FILE) + ": corrupt: " + e.getMessage());
      } catch (IOException e) {
        problems.accept(p + ": unreadable: " + e.getMessage());
      }
    }
    all.sort(Comparator.comparingLong(Installed::version).thenComparingLong(Installed::createdAtMs)
        .thenComparing(Installed::id).reversed());
    return all;
  }

  /** The newest installed checkpoint. */
  public Optional<Installed> latest(Consumer<String> problems) {
    return installed(problems).stream().findFirst();
  }

  /** Deletes all but the newest {@code keep} installed checkpoints; returns the ids deleted. */
  public List<String> prune(int keep, Consumer<String> problems) {
    List<Installed> all = installed(problems);
    List<String> removed = new ArrayList<>();
    for (Installed old : all.subList(Math.min(keep, all.size()), all.size())) {
      deleteRecursively(old.dir());
      removed.add(old.id());
    }
    return removed;
  }

  private List<Path> children() {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(root)) {
      return s.sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + root + ": " + e.getMessage(), e);
    }
  }

  /** Deletes {@code p} and everything under it; a missing path is fine. */
  static void deleteRecursively(Path p) {
    try {
      CheckpointStore.deleteTree(p);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + p + ": " + e.getMessage(), e);
    }
  }
}
