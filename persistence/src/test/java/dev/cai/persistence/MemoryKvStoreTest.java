package dev.cai.persistence;

/** Runs the {@link KvStore} contract against {@link MemoryKvStore}. */
class MemoryKvStoreTest extends KvStoreContractTest {
  @Override
  KvStore create() {
    return new MemoryKvStore(FAMILIES);
  }

  @Override
  KvStore reopen(KvStore closed) {
    return ((MemoryKvStore) closed).reopen();
  }
}
