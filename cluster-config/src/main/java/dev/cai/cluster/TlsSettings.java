package dev.cai.cluster;

import com.typesafe.config.Config;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.security.UnrecoverableKeyException;
import java.security.cert.Certificate;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.Collections;
import java.util.Optional;

/**
 * Artery TLS of a node ({@code cai.cluster.tls}): when enabled, cluster traffic runs over TLS with mutual
 * authentication, so a peer is accepted only with a certificate that chains to the trust store. The compact
 * constructor opens both stores, so a missing file, a wrong password or a store without the expected entry is
 * an error naming the file and the problem before any actor system starts.
 */
public record TlsSettings(boolean enabled, Path keyStore, String keyStorePassword, Path trustStore,
    String trustStorePassword) {
  /** Environment variable holding the key store's password (and its key's), read by common.conf. */
  public static final String KEY_STORE_PASSWORD_ENV = "CAI_TLS_KEY_STORE_PASSWORD";
  /** Environment variable holding the trust store's password, read by common.conf. */
  public static final String TRUST_STORE_PASSWORD_ENV = "CAI_TLS_TRUST_STORE_PASSWORD";

  public TlsSettings {
    if (enabled) {
      required(keyStore, "key-store", "give the path of this node's key store (its private key and certificate)");
      required(keyStorePassword, "key-store-password", passwordHint(KEY_STORE_PASSWORD_ENV));
      required(trustStore, "trust-store", "give the path of the trust store holding the cluster CA's certificate");
      required(trustStorePassword, "trust-store-password", passwordHint(TRUST_STORE_PASSWORD_ENV));
      checkKeyStore(keyStore, keyStorePassword);
      checkTrustStore(trustStore, trustStorePassword);
    }
  }

  /** The settings of {@code cai.cluster.tls} in a resolved node configuration. */
  public static TlsSettings from(Config conf) {
    Config c = conf.getConfig("cai.cluster.tls");
    return new TlsSettings(c.getBoolean("enabled"), path(c, "key-store"), c.hasPath("key-store-password")
        ? c.getString("key-store-password") : null, path(c, "trust-store"),
        c.hasPath("trust-store-password") ? c.getString("trust-store-password") : null);
  }

  /** Keeps the passwords out of logs and error messages. */
  @Override
  public String toString() {
    return "TlsSettings[enabled=" + enabled + ", keyStore=" + keyStore + ", trustStore=" + trustStore + "]";
  }

  private static Path path(Config c, String key) {
    String s = c.getString(key);
    return s.isBlank() ? null : Path.of(s);
  }

  private static String passwordHint(String env) {
    return "export " + env + " (or set it in the node's --config file, never in the repository)";
  }

  private static void required(Object value, String key, String hint) {
    if (value == null || value.toString().isEmpty()) {
      throw new IllegalArgumentException("TLS is enabled (cai.cluster.tls.enabled = on) but cai.cluster.tls." + key
          + " is not set: " + hint);
    }
  }

  private static void checkKeyStore(Path file, String password) {
    KeyStore ks = open("key store", "cai.cluster.tls.key-store", file, password);
    String alias = firstAlias(ks, "key store", file, KeyStore::isKeyEntry).orElseThrow(() -> new IllegalArgumentException(
        "TLS key store " + file + " holds no private key (it needs this node's key and its certificate signed by the "
            + "cluster CA, e.g. from keytool -genkeypair and -importcert)"));
    try {
      ks.getKey(alias, password.toCharArray());
      checkValidity("TLS key store " + file + ": the certificate of '" + alias + "'", ks.getCertificate(alias));
    } catch (UnrecoverableKeyException e) {
      throw new IllegalArgumentException("TLS key store " + file + ": the key '" + alias
          + "' cannot be read with the key store's password (cai uses one password for the store and its key)", e);
    } catch (GeneralSecurityException e) {
      throw cannotRead("key store", file, e);
    }
  }

  private static void checkTrustStore(Path file, String password) {
    KeyStore ks = open("trust store", "cai.cluster.tls.trust-store", file, password);
    if (firstAlias(ks, "trust store", file, KeyStore::isCertificateEntry).isEmpty()) {
      throw new IllegalArgumentException("TLS trust store " + file + " holds no trusted certificate (it needs the cluster "
          + "CA's certificate, e.g. from keytool -importcert -trustcacerts)");
    }
  }

  /** A test of one entry of a key store. */
  private interface EntryTest {
    boolean test(KeyStore ks, String alias) throws KeyStoreException;
  }

  /** The first alias of {@code ks} whose entry passes {@code entry}. */
  private static Optional<String> firstAlias(KeyStore ks, String what, Path file, EntryTest entry) {
    try {
      for (String alias : Collections.list(ks.aliases())) {
        if (entry.test(ks, alias)) {
          return Optional.of(alias);
        }
      }
      return Optional.empty();
    } catch (KeyStoreException e) {
      throw cannotRead(what, file, e);
    }
  }

  private static IllegalArgumentException cannotRead(String what, Path file, GeneralSecurityException e) {
    return new IllegalArgumentException("TLS " + what + " " + file + " cannot be read: " + e.getMessage(), e);
  }

  /** Opens a store as Pekko's ConfigSSLEngineProvider does (the JDK's default type, which reads PKCS12 and JKS). */
  private static KeyStore open(String what, String key, Path file, String password) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("TLS " + what + " " + file + " (" + key + ") does not exist or is not a file");
    }
    if (!Files.isReadable(file)) {
      throw new IllegalArgumentException("TLS " + what + " " + file + " (" + key + ") is not readable by this user");
    }
    try (InputStream in = Files.newInputStream(file)) {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(in, password.toCharArray());
      return ks;
    } catch (IOException e) {
      if (e.getCause() instanceof UnrecoverableKeyException) {
        throw new IllegalArgumentException("TLS " + what + " " + file + ": wrong password (" + key + "-password)", e);
      }
      throw new IllegalArgumentException("TLS " + what + " " + file + " is not a PKCS12 or JKS store: " + e.getMessage(), e);
    } catch (GeneralSecurityException e) {
      throw cannotRead(what, file, e);
    }
  }

  private static void checkValidity(String what, Certificate cert) {
    if (cert instanceof X509Certificate x) {
      try {
        x.checkValidity();
      } catch (CertificateExpiredException e) {
        throw new IllegalArgumentException(what + " expired on " + x.getNotAfter().toInstant(), e);
      } catch (CertificateNotYetValidException e) {
        throw new IllegalArgumentException(what + " is not valid before " + x.getNotBefore().toInstant(), e);
      }
    }
  }
}
