package dev.cai.cluster;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.remote.artery.tcp.ConfigSSLEngineProvider;

/**
 * Pekko's {@link ConfigSSLEngineProvider} (settings {@code pekko.remote.artery.ssl.config-ssl-engine}) that also logs a
 * warning naming the certificate whenever a TLS handshake is refused because the trust store does not trust the peer's
 * certificate (not signed by a CA in it, expired, not yet valid...), with the reason; JSSE alone logs nothing on the
 * refusing side. So that the refusing side sees the certificate, a connecting node always presents its own, even when
 * it is not issued by a CA the other side asked for (JSSE would otherwise send none, and the refusal could not name it).
 */
public final class CaiSslEngineProvider extends ConfigSSLEngineProvider {
  /** Pekko creates the provider reflectively with the actor system. */
  public CaiSslEngineProvider(ActorSystem system) {
    super(system);
  }

  @Override
  public KeyManager[] keyManagers() {
    return Arrays.stream(super.keyManagers())
        .map(k -> k instanceof X509ExtendedKeyManager x ? new AlwaysPresent(x) : k)
        .toArray(KeyManager[]::new);
  }

  @Override
  public TrustManager[] trustManagers() {
    return Arrays.stream(super.trustManagers())
        .map(t -> t instanceof X509ExtendedTrustManager x ? new Logging(x) : t)
        .toArray(TrustManager[]::new);
  }

  /** The refusal line for a peer certificate chain {@code chain} that {@code trustStore} does not trust. */
  private static String refusal(boolean peerIsClient, X509Certificate[] chain, String trustStore, String reason) {
    String subject = chain == null || chain.length == 0 ? "no certificate" : chain[0].getSubjectX500Principal().getName();
    String issuer = chain == null || chain.length == 0 ? "none" : chain[0].getIssuerX500Principal().getName();
    return "cai TLS: refused a cluster connection " + (peerIsClient ? "from" : "to") + " a node whose certificate ("
        + subject + ", issued by " + issuer + ") is not trusted by the trust store " + trustStore
        + " (cai.cluster.tls.trust-store): " + reason;
  }

  /** Chooses this node's client certificate whatever issuers the server asked for. */
  private static final class AlwaysPresent extends X509ExtendedKeyManager {
    private final X509ExtendedKeyManager delegate;

    AlwaysPresent(X509ExtendedKeyManager delegate) {
      this.delegate = delegate;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      return delegate.chooseEngineClientAlias(keyType, null, engine);
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return delegate.chooseClientAlias(keyType, null, socket);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
      return delegate.chooseEngineServerAlias(keyType, issuers, engine);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return delegate.chooseServerAlias(keyType, issuers, socket);
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return delegate.getClientAliases(keyType, issuers);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return delegate.getServerAliases(keyType, issuers);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return delegate.getCertificateChain(alias);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return delegate.getPrivateKey(alias);
    }
  }

  /** Logs, then rethrows, every refusal of the trust store. */
  private final class Logging extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager delegate;

    Logging(X509ExtendedTrustManager delegate) {
      this.delegate = delegate;
    }

    /** A check of the delegate. */
    private interface Check {
      void run() throws CertificateException;
    }

    /** Runs {@code check}; a refusal is logged naming the peer's certificate, then rethrown. */
    private void check(boolean peerIsClient, X509Certificate[] chain, Check check) throws CertificateException {
      try {
        check.run();
      } catch (CertificateException e) {
        log().warning(refusal(peerIsClient, chain, SSLTrustStore(), e.getMessage()));
        throw e;
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
      check(true, chain, () -> delegate.checkClientTrusted(chain, authType, engine));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
      check(false, chain, () -> delegate.checkServerTrusted(chain, authType, engine));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      check(true, chain, () -> delegate.checkClientTrusted(chain, authType, socket));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      check(false, chain, () -> delegate.checkServerTrusted(chain, authType, socket));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      check(true, chain, () -> delegate.checkClientTrusted(chain, authType));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      check(false, chain, () -> delegate.checkServerTrusted(chain, authType));
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return delegate.getAcceptedIssuers();
    }
  }
}
