package dev.cai.cluster.learner;

import com.google.protobuf.UnsafeByteOperations;
import dev.cai.protocol.v1.CheckpointChunk;
import dev.cai.protocol.v1.CheckpointFile;
import dev.cai.protocol.v1.CheckpointOffer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * The sending side of one checkpoint: its offer and its chunks, read from the checkpoint directory on demand (a
 * checkpoint's files never change: RocksDB checkpoints hard-link immutable files).
 */
public final class CheckpointChunker {
  private final String id;
  private final long version;
  private final Path dir;
  private final CheckpointManifest manifest;
  private final int chunkSize;
  private final List<CheckpointManifest.Piece> pieces;

  /** Lists {@code dir} (blocking: it hashes every file). */
  public CheckpointChunker(String id, long version, Path dir, int chunkSize) {
    this.id = id;
    this.version = version;
    this.dir = dir;
    this.manifest = CheckpointManifest.of(dir);
    this.chunkSize = chunkSize;
    this.pieces = manifest.pieces(chunkSize);
  }

  public String id() {
    return id;
  }

  public long version() {
    return version;
  }

  public Path dir() {
    return dir;
  }

  public int chunkCount() {
    return pieces.size();
  }

  public long bytes() {
    return manifest.bytes();
  }

  public int files() {
    return manifest.files().size();
  }

  /** The first message of a transfer; acknowledgements go to {@code replyTo} (a serialized actor ref). */
  public CheckpointOffer offer(String replyTo, String sender) {
    return CheckpointOffer.newBuilder().setCheckpointId(id).setVersion(version).addAllFiles(manifest.files())
        .setChunkSize(chunkSize).setChunkCount(pieces.size()).setReplyTo(replyTo).setSender(sender)
        .setCreatedAtMs(System.currentTimeMillis()).build();
  }

  /** Chunk {@code seq}, read from its file (blocking). */
  public CheckpointChunk chunk(long seq) {
    CheckpointManifest.Piece p = pieces.get(Math.toIntExact(seq));
    CheckpointFile f = manifest.files().get(p.file());
    Path file = dir.resolve(f.getPath());
    ByteBuffer buf = ByteBuffer.allocate(p.length());
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      while (buf.hasRemaining()) {
        if (ch.read(buf, p.offset() + buf.position()) < 0) {
          throw new IOException("file ended at " + (p.offset() + buf.position()) + " of " + f.getSize() + " bytes");
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint " + id + ": cannot read " + file + ": " + e.getMessage(), e);
    }
    buf.flip();
    return CheckpointChunk.newBuilder().setCheckpointId(id).setSeq(seq).setPath(f.getPath())
        .setOffset(p.offset()).setData(UnsafeByteOperations.unsafeWrap(buf)).build(); // buf is ours alone: no copy
  }
}
