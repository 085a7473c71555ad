package dev.cai.persistence;

/**
 * A record read back from a store with the sequence number it was committed under.
 *
 * @param sequence position of the record in its kind, from 0, in insertion order
 * @param record the decoded message
 * @param <M> the Protobuf message type
 */
public record Stored<M>(long sequence, M record) {}
