#!/usr/bin/env bash
# Makes the TLS material of a cai cluster with the JDK's keytool: a cluster CA, a trust store holding the CA's
# certificate, and one key store per node holding the node's private key and its certificate signed by the CA.
#
#   CAI_TLS_CA_PASSWORD=... CAI_TLS_KEY_STORE_PASSWORD=... CAI_TLS_TRUST_STORE_PASSWORD=... \
#     cluster-config/deploy/tls/gen-certs.sh DIR NODE [NODE ...]
#
# Writes DIR/ca.p12 (the CA's key: keep it off the nodes), DIR/ca.crt, DIR/truststore.p12 and DIR/NODE.p12 for each
# NODE (a name, e.g. the host name; it becomes the certificate's CN and DNS subject alternative name). Run it again
# with the same DIR to add nodes signed by the same CA; a different DIR makes a different CA, whose nodes the first
# cluster refuses. Passwords come from the environment only; all stores are PKCS12. KEYTOOL overrides the keytool
# binary (default: keytool on the PATH). VALIDITY is the certificates' lifetime in days (default 365).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 DIR NODE [NODE ...]" >&2
  exit 2
fi
: "${CAI_TLS_CA_PASSWORD:?set CAI_TLS_CA_PASSWORD (password of the CA key store)}"
: "${CAI_TLS_KEY_STORE_PASSWORD:?set CAI_TLS_KEY_STORE_PASSWORD (password of each node key store)}"
: "${CAI_TLS_TRUST_STORE_PASSWORD:?set CAI_TLS_TRUST_STORE_PASSWORD (password of the trust store)}"
keytool="${KEYTOOL:-keytool}"
days="${VALIDITY:-365}"
dir="$1"
shift
mkdir -p "$dir"
umask 077

if [ ! -f "$dir/ca.p12" ]; then
  "$keytool" -genkeypair -noprompt -alias ca -keyalg RSA -keysize 2048 -validity "$days" \
    -dname "CN=cai cluster CA $(date -u +%Y%m%dT%H%M%S)-$RANDOM" -ext bc:c \
    -storetype PKCS12 -keystore "$dir/ca.p12" -storepass:env CAI_TLS_CA_PASSWORD
  "$keytool" -exportcert -rfc -alias ca -keystore "$dir/ca.p12" -storepass:env CAI_TLS_CA_PASSWORD -file "$dir/ca.crt"
  "$keytool" -importcert -noprompt -trustcacerts -alias cai-ca -file "$dir/ca.crt" \
    -storetype PKCS12 -keystore "$dir/truststore.p12" -storepass:env CAI_TLS_TRUST_STORE_PASSWORD
fi

for node in "$@"; do
  store="$dir/$node.p12"
  rm -f "$store" "$dir/$node.csr" "$dir/$node.crt"
  "$keytool" -genkeypair -noprompt -alias node -keyalg RSA -keysize 2048 -validity "$days" -dname "CN=$node" \
    -storetype PKCS12 -keystore "$store" -storepass:env CAI_TLS_KEY_STORE_PASSWORD
  "$keytool" -certreq -alias node -keystore "$store" -storepass:env CAI_TLS_KEY_STORE_PASSWORD -file "$dir/$node.csr"
  "$keytool" -gencert -rfc -alias ca -keystore "$dir/ca.p12" -storepass:env CAI_TLS_CA_PASSWORD -validity "$days" \
    -ext "san=dns:$node" -ext ku:c=digitalSignature,keyEncipherment -ext eku=serverAuth,clientAuth \
    -infile "$dir/$node.csr" -outfile "$dir/$node.crt"
  # the signed certificate and the CA's, as one reply, replace the node's self-signed certificate: its chain
  cat "$dir/$node.crt" "$dir/ca.crt" > "$dir/$node.chain"
  "$keytool" -importcert -noprompt -alias node -file "$dir/$node.chain" \
    -keystore "$store" -storepass:env CAI_TLS_KEY_STORE_PASSWORD
  rm -f "$dir/$node.csr" "$dir/$node.chain"
  echo "$store: key of $node signed by $dir/ca.p12"
done
