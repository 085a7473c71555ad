/**
 * Durable storage of a run: a bytes layer ({@link dev.cai.persistence.KvStore}, backed by RocksDB or
 * by memory) and a typed layer ({@link dev.cai.persistence.RecordStore}) that commits Protobuf records
 * together with the stream offsets they consumed in one atomic batch.
 */
package dev.cai.persistence;
