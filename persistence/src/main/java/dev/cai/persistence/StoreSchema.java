package dev.cai.persistence;

import dev.cai.protocol.Codecs;
import java.util.Optional;

/** The identity of a cai store: a marker and the schema version it was written with, in run metadata. */
final class StoreSchema {
  static final String MARKER_KEY = Commit.RESERVED_METADATA_PREFIX + "store";
  static final String MARKER = "dev.cai.persistence.RecordStore";
  static final String VERSION_KEY = Commit.RESERVED_METADATA_PREFIX + "schema_version";

  /** What {@link #check} found. */
  enum State {
    /** Every column family is empty: a store created but never initialized. */
    BLANK,
    /** A cai store of this schema version or an older one. */
    VALID
  }

  private StoreSchema() {}

  /**
   * Reads the marker and schema version without writing anything.
   *
   * @throws StoreException when the store is not a cai store, or was written by a newer schema
   */
  static State check(KvStore kv) {
    String where = kv.location();
    Optional<String> marker = kv.get(RecordStore.RUN_METADATA, Keys.name(MARKER_KEY)).map(Keys::name);
    if (marker.isEmpty()) {
      for (String family : kv.columnFamilies()) {
        if (kv.lastKey(family).isPresent()) {
          throw new StoreException(where, "not a cai store: column family '" + family
              + "' holds data but " + RecordStore.RUN_METADATA + " has no '" + MARKER_KEY + "' marker");
        }
      }
      return State.BLANK;
    }
    if (!marker.get().equals(MARKER)) {
      throw new StoreException(where, "not a cai store: marker '" + MARKER_KEY + "' is '" + marker.get()
          + "', expected '" + MARKER + "'");
    }
    String text = kv.get(RecordStore.RUN_METADATA, Keys.name(VERSION_KEY)).map(Keys::name)
        .orElseThrow(() -> new StoreException(where, "corrupt cai store: no '" + VERSION_KEY + "' in "
            + RecordStore.RUN_METADATA));
    int version;
    try {
      version = Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw new StoreException(where, "corrupt cai store: schema version '" + text + "' is not a number", e);
    }
    if (version < 1) {
      throw new StoreException(where, "corrupt cai store: schema version " + version + " is not positive");
    }
    if (version > Codecs.SCHEMA_VERSION) {
      throw new StoreException(where, "written by schema version " + version + ", newer than version "
          + Codecs.SCHEMA_VERSION + " of this build; open it with a newer cai");
    }
    return State.VALID;
  }

  /** Adds the marker and this build's schema version to {@code batch}. */
  static KvBatch initialize(KvBatch batch) {
    return batch
        .put(RecordStore.RUN_METADATA, Keys.name(MARKER_KEY), Keys.name(MARKER))
        .put(RecordStore.RUN_METADATA, Keys.name(VERSION_KEY), Keys.name(Integer.toString(Codecs.SCHEMA_VERSION)));
  }
}
