package dev.cai.cluster.learner;

import dev.cai.persistence.RecordStore;
import dev.cai.protocol.v1.LearnerStateHeader;
import dev.cai.runtime.io.Sha256;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/**
 * A fingerprint of a store's committed learner state: its version, and SHA-256s over the content-addressed blob
 * keys of the header ({@code <model>/<part>/<tensor>@<sha256>}, see {@code LearnerStateCodec}) of the policy weights
 * alone and of everything (policy, critic, Adam moments). Equal digests mean bit-identical tensors.
 */
public record StateDigest(long version, String policySha256, String stateSha256) {
  private static final String POLICY_WEIGHTS = "policy/weights/";

  /** The digest of {@code store}'s committed learner state; a store without one has version 0 and empty digests. */
  public static StateDigest of(RecordStore store) {
    return store.learnerHeader().map(StateDigest::of).orElse(new StateDigest(0, "", ""));
  }

  static StateDigest of(LearnerStateHeader h) {
    List<String> names = h.getTensorNamesList().stream().sorted().toList();
    return new StateDigest(h.getPolicyVersion(), sha256(names.stream().filter(n -> n.startsWith(POLICY_WEIGHTS)).toList()),
        sha256(names));
  }

  private static String sha256(List<String> names) {
    MessageDigest sha = Sha256.digest();
    for (String n : names) {
      sha.update(n.getBytes(StandardCharsets.UTF_8));
      sha.update((byte) '\n');
    }
    return Sha256.hex(sha);
  }

  @Override
  public String toString() {
    return "version " + version + " policy-sha256 " + policySha256 + " state-sha256 " + stateSha256;
  }
}
