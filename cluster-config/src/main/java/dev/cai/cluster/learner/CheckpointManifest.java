package dev.cai.cluster.learner;

import dev.cai.protocol.v1.CheckpointFile;
import dev.cai.runtime.io.Sha256;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The files of one checkpoint directory (relative path, size, SHA-256) and how they are cut into chunks: chunk
 * {@code seq} of a checkpoint is piece {@code seq} of {@link #pieces}, the files in manifest order, each from offset 0
 * in steps of the chunk size (an empty file has no piece).
 */
public record CheckpointManifest(List<CheckpointFile> files) {
  private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");

  /** One chunk's place: file index in the manifest, offset and length. */
  public record Piece(int file, long offset, int length) {}

  public CheckpointManifest {
    files = List.copyOf(files);
    Set<String> seen = new HashSet<>();
    for (CheckpointFile f : files) {
      checkPath(f.getPath());
      if (!seen.add(f.getPath())) {
        throw new IllegalArgumentException("file '" + f.getPath() + "' is listed twice");
      }
      if (!f.getSha256().matches("[0-9a-f]{64}")) {
        throw new IllegalArgumentException("file '" + f.getPath() + "' has no valid SHA-256 ('" + f.getSha256() + "')");
      }
      if (f.getSize() == 0 && !f.getSha256().equals(Sha256.EMPTY)) {
        throw new IllegalArgumentException("file '" + f.getPath() + "' is empty but its SHA-256 is " + f.getSha256()
            + ", not that of no bytes (" + Sha256.EMPTY + ")");
      }
    }
  }

  /** Lists every regular file under {@code dir} (sorted by path) with its size and SHA-256. */
  public static CheckpointManifest of(Path dir) {
    List<CheckpointFile> files = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.filter(Files::isRegularFile).sorted().toList()) {
        String rel = dir.relativize(p).toString().replace('\\', '/');
        files.add(CheckpointFile.newBuilder().setPath(rel).setSize(Files.size(p)).setSha256(Sha256.file(p)).build());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list checkpoint " + dir + ": " + e.getMessage(), e);
    }
    return new CheckpointManifest(files);
  }

  /** Total bytes of the files. */
  public long bytes() {
    return files.stream().mapToLong(CheckpointFile::getSize).sum();
  }

  /** Every chunk's place, in sending order, for chunks of at most {@code chunkSize} bytes. */
  public List<Piece> pieces(int chunkSize) {
    if (chunkSize < 1) {
      throw new IllegalArgumentException("chunk size must be >= 1, got " + chunkSize);
    }
    List<Piece> pieces = new ArrayList<>();
    for (int i = 0; i < files.size(); i++) {
      long size = files.get(i).getSize();
      for (long off = 0; off < size; off += chunkSize) {
        pieces.add(new Piece(i, off, (int) Math.min(chunkSize, size - off)));
      }
    }
    return pieces;
  }

  /**
   * Refuses a path that could leave the checkpoint directory or is not a plain name: absolute, empty segments, a
   * segment not starting with a letter or digit ({@code .}, {@code ..}, hidden names), or characters beyond
   * {@code [A-Za-z0-9._-]} (RocksDB's own file names fit).
   */
  private static void checkPath(String path) {
    if (path == null || path.isEmpty() || path.startsWith("/")) {
      throw new IllegalArgumentException("bad file path '" + path + "' (expected a relative path)");
    }
    for (String segment : path.split("/", -1)) {
      if (!SEGMENT.matcher(segment).matches()) {
        throw new IllegalArgumentException("bad file path '" + path + "' (segment '" + segment
            + "' is not a plain file name)");
      }
    }
  }
}
