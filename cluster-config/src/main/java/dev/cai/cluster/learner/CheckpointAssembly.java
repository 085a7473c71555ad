package dev.cai.cluster.learner;

import dev.cai.protocol.v1.CheckpointChunk;
import dev.cai.protocol.v1.CheckpointFile;
import dev.cai.protocol.v1.CheckpointOffer;
import dev.cai.runtime.io.CheckpointStore;
import dev.cai.runtime.io.Sha256;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The receiving side of one checkpoint transfer: chunks arrive in order into a hidden temporary directory, each file
 * is checked against its size and SHA-256 as its last chunk lands, and {@link #install} renames the directory into
 * place atomically, so the checkpoint root only ever holds complete, verified checkpoints. Not thread-safe (one
 * actor owns it); file work is blocking.
 */
public final class CheckpointAssembly {
  /** A transfer that cannot be completed; the message names the checkpoint, the file and the problem. */
  public static final class Rejected extends RuntimeException {
    Rejected(String message) {
      super(message);
    }
  }

  private final CheckpointOffer offer;
  private final Path temp;
  private final Path target;
  private final List<CheckpointManifest.Piece> pieces;
  private long next;
  private int openFile = -1;
  private FileChannel channel;
  private MessageDigest sha;

  private CheckpointAssembly(CheckpointOffer offer, Path temp, Path target, List<CheckpointManifest.Piece> pieces) {
    this.offer = offer;
    this.temp = temp;
    this.target = target;
    this.pieces = pieces;
  }

  /**
   * Checks {@code offer} and prepares {@code temp} (deleted first if a crashed transfer left it) for the files;
   * {@link #install} moves it to {@code target}.
   */
  static CheckpointAssembly begin(CheckpointOffer offer, Path temp, Path target) {
    String id = offer.getCheckpointId();
    CheckpointManifest manifest;
    try {
      manifest = new CheckpointManifest(offer.getFilesList());
    } catch (IllegalArgumentException e) {
      throw new Rejected("checkpoint " + id + ": bad offer: " + e.getMessage());
    }
    if (offer.getChunkSize() < 1 || offer.getChunkSize() > Integer.MAX_VALUE) {
      throw new Rejected("checkpoint " + id + ": bad offer: chunk size " + offer.getChunkSize() + " is not in 1 .. "
          + Integer.MAX_VALUE); // a chunk larger than a frame never arrives: Artery drops it, the transfer times out
    }
    List<CheckpointManifest.Piece> pieces = manifest.pieces((int) offer.getChunkSize());
    if (pieces.size() != offer.getChunkCount()) {
      throw new Rejected("checkpoint " + id + ": bad offer: " + offer.getChunkCount() + " chunks announced, but "
          + manifest.files().size() + " files of " + manifest.bytes() + " bytes make " + pieces.size());
    }
    if (Files.exists(target)) {
      throw new Rejected("checkpoint " + id + ": already installed at " + target);
    }
    try {
      ShippedCheckpoints.deleteRecursively(temp);
      Files.createDirectories(temp);
    } catch (IOException | UncheckedIOException e) {
      throw new Rejected("checkpoint " + id + ": cannot create " + temp + ": " + e.getMessage());
    }
    return new CheckpointAssembly(offer, temp, target, pieces);
  }

  public CheckpointOffer offer() {
    return offer;
  }

  /** The sequence number of the next chunk expected (= chunks written). */
  public long nextSeq() {
    return next;
  }

  /** Whether every chunk has been written. */
  public boolean allReceived() {
    return next == pieces.size();
  }

  /**
   * Writes chunk {@code c}, which must be the next one; when it is the last piece of its file, checks the file's
   * SHA-256.
   *
   * @throws Rejected a chunk out of order, of another checkpoint or file, of the wrong length, or a file whose
   *     SHA-256 does not match
   */
  public void accept(CheckpointChunk c) {
    String id = offer.getCheckpointId();
    if (!c.getCheckpointId().equals(id)) {
      throw new Rejected("checkpoint " + id + ": got a chunk of checkpoint " + c.getCheckpointId());
    }
    if (c.getSeq() != next || next >= pieces.size()) {
      throw new Rejected("checkpoint " + id + ": file " + c.getPath() + ": chunk " + c.getSeq() + " arrived, expected "
          + (next >= pieces.size() ? "none (all " + pieces.size() + " received)" : "chunk " + next));
    }
    CheckpointManifest.Piece p = pieces.get((int) next);
    CheckpointFile f = offer.getFiles(p.file());
    if (!c.getPath().equals(f.getPath()) || c.getOffset() != p.offset() || c.getData().size() != p.length()) {
      throw new Rejected("checkpoint " + id + ": file " + f.getPath() + ": chunk " + next + " should hold " + p.length()
          + " bytes at offset " + p.offset() + ", got " + c.getData().size() + " bytes of " + c.getPath() + " at offset "
          + c.getOffset());
    }
    boolean fileComplete = p.offset() + p.length() == f.getSize();
    try {
      if (openFile != p.file()) {
        closeFile();
        Path file = temp.resolve(ShippedCheckpoints.STORE_DIR).resolve(f.getPath());
        Files.createDirectories(file.getParent());
        channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        sha = Sha256.digest();
        openFile = p.file();
      }
      for (ByteBuffer b : c.getData().asReadOnlyByteBufferList()) {
        sha.update(b.duplicate());
        while (b.hasRemaining()) {
          channel.write(b);
        }
      }
      if (fileComplete) {
        closeFile(); // synced before its checksum counts
      }
    } catch (IOException e) {
      throw new Rejected("checkpoint " + id + ": file " + f.getPath() + ": cannot write: " + e.getMessage());
    }
    next++;
    if (fileComplete) {
      String actual = Sha256.hex(sha);
      if (!actual.equals(f.getSha256())) {
        throw new Rejected("checkpoint " + id + ": file " + f.getPath() + ": SHA-256 mismatch (expected "
            + f.getSha256() + ", got " + actual + ")");
      }
    }
  }

  /**
   * Creates the empty files (no chunk carries them; the offer's manifest checked that their SHA-256 is that of no
   * bytes), writes the offer beside the files, syncs the new directory entries and renames the temporary directory to
   * its final name. Every other file was checked, written and synced by {@link #accept} as its last chunk landed.
   *
   * @throws Rejected when chunks are missing or the directory cannot be installed
   */
  public ShippedCheckpoints.Installed install() {
    String id = offer.getCheckpointId();
    if (!allReceived()) {
      throw new Rejected("checkpoint " + id + ": incomplete: " + next + " of " + pieces.size() + " chunks received");
    }
    Path store = temp.resolve(ShippedCheckpoints.STORE_DIR);
    try {
      Files.createDirectories(store);
      Set<Path> dirs = new TreeSet<>(List.of(temp, store));
      for (CheckpointFile f : offer.getFilesList()) {
        Path file = store.resolve(f.getPath());
        dirs.add(file.getParent());
        if (f.getSize() == 0) {
          Files.createDirectories(file.getParent());
          Files.createFile(file);
        }
      }
      Path offerFile = temp.resolve(ShippedCheckpoints.OFFER_FILE);
      Files.write(offerFile, offer.toBuilder().clearReplyTo().build().toByteArray());
      CheckpointStore.forceFile(offerFile);
      dirs.forEach(CheckpointStore::forceDirectory);
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
      CheckpointStore.forceDirectory(target.getParent());
    } catch (IOException e) {
      throw new Rejected("checkpoint " + id + ": cannot install into " + target + ": " + e.getMessage());
    }
    return new ShippedCheckpoints.Installed(id, offer.getVersion(), target, offer.getCreatedAtMs());
  }

  /** Drops the partial files (after a rejection, or when a newer offer supersedes this transfer). */
  public void discard() {
    try {
      closeFile();
    } catch (IOException ignored) {
      // the directory goes away anyway
    }
    ShippedCheckpoints.deleteRecursively(temp);
  }

  private void closeFile() throws IOException {
    if (channel != null) {
      channel.force(true);
      channel.close();
      channel = null;
      openFile = -1;
    }
  }
}
