package dev.cai.persistence;

import java.util.LinkedHashMap;
import java.util.Map;

/** Runs the {@link RecordStore} contract over {@link MemoryKvStore}. */
class MemoryRecordStoreTest extends RecordStoreContractTest {
  private MemoryKvStore kv;

  private MemoryKvStore nextInstance() {
    kv = kv == null ? new MemoryKvStore(RecordStore.columnFamilies()) : kv.reopen();
    return kv;
  }

  @Override
  RecordStore open() {
    return RecordStore.adopt(nextInstance());
  }

  @Override
  KvStore openRaw() {
    return nextInstance();
  }

  @Override
  Object fingerprint() {
    Map<String, String> dump = new LinkedHashMap<>();
    try (KvStore raw = openRaw()) {
      for (String family : RecordStore.columnFamilies()) {
        raw.scan(family, new byte[0], (key, value) -> {
          dump.put(family + "/" + java.util.HexFormat.of().formatHex(key), java.util.HexFormat.of().formatHex(value));
          return true;
        });
      }
    }
    return dump;
  }
}
