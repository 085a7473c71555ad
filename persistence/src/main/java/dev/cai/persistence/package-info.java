/**
 * Durable storage of a run: a bytes layer ({@link dev.cai.persistence.KvStore}, backed by RocksDB or
 * by memory) and a typed layer ({@link dev.cai.persistence.RecordStore}) that commits Protobuf records
 * together with the stream offsets they consumed in one atomic batch.
 *
 * <p>Layout of a store (one RocksDB column family each; keys compare as unsigned bytes):
 * <ul>
 *   <li>{@code prompts}, {@code sl_examples}, {@code comparisons}, {@code rollouts}: key = 8-byte
 *       big-endian sequence number from 0, value = the Protobuf record, so iteration order is insertion
 *       order; the next sequence is recovered from the last key on open.
 *   <li>{@code stream_offsets}: key = UTF-8 source name, value = {@code cai.v1.SourceOffset} (the
 *       position the stream resumes from).
 *   <li>{@code learner_state}: key = UTF-8 name (e.g. {@code header}, {@code tensor/...}), value = bytes.
 *   <li>{@code run_metadata}: key = UTF-8 name, value = UTF-8 text; {@code cai.store} marks a cai store
 *       and {@code cai.schema_version} holds the schema version it was written with.
 *   <li>{@code checkpoints_index}: key = checkpoint name, value = a {@code google.protobuf.Struct}
 *       (name, path, created_at_ms, next_sequences, offsets).
 * </ul>
 *
 * <p>Checkpoints are RocksDB checkpoints in {@code <store dir>.checkpoints/<name>}; restoring copies
 * one into a new directory and opens it as an independent store.
 */
package dev.cai.persistence;
