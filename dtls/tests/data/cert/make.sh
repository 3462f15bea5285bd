#!/usr/bin/env bash
# How the certificates here were made (run once; the outputs are committed). src/cert.rs's
# tests read each one's key and verify its self-signature with it; tests/certificate.rs
# mutates them.
#   ours-*.der        Certificate::generate with the `der`-crate encoder this file replaced
#                     (peerless 1e98e4c), for the seeds and windows listed in
#                     tests/certificate.rs: the new encoder must reproduce them byte for byte.
#   openssl-*.der     OpenSSL 3 `req -x509` (its default extensions: subject and authority key
#                     identifiers, basicConstraints).
#   gnutls-*.der      GnuTLS `certtool --generate-self-signed` (keyUsage, keyPurposeId,
#                     subjectKeyIdentifier, a 20-byte serial).
#   chromium.der      what Chromium 156 sends (BoringSSL's WebRTC certificate: CN=WebRTC, a
#                     64-bit serial, a month's validity), read from RTCCertificateStats by
#                     browsers.mjs (`in_netns node browsers.mjs NPM_DIR .`; not run here).
set -euo pipefail
cd "$(dirname "$0")"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -sha256 \
    -subj /CN=openssl-p256 -keyout "$t/k.pem" -outform DER -out openssl-p256.der 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
    -subj /CN=openssl-rsa2048 -keyout "$t/k.pem" -outform DER -out openssl-rsa2048.der 2>/dev/null
# Keys we must refuse: P-384 and Ed25519.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -days 3650 -sha384 \
    -subj /CN=openssl-p384 -keyout "$t/k.pem" -outform DER -out openssl-p384.der 2>/dev/null
openssl req -x509 -newkey ed25519 -nodes -days 3650 \
    -subj /CN=openssl-ed25519 -keyout "$t/k.pem" -outform DER -out openssl-ed25519.der 2>/dev/null
printf 'cn = gnutls\nexpiration_days = 3650\nsigning_key\ntls_www_server\n' > "$t/tmpl"
for kind in "ecdsa --curve=secp256r1:p256" "rsa --bits=2048:rsa2048"; do
    opts=${kind%%:*} name=${kind##*:}
    certtool --generate-privkey --key-type=$opts --outfile "$t/k.pem" 2>/dev/null
    certtool --generate-self-signed --load-privkey "$t/k.pem" --template "$t/tmpl" \
        --hash SHA256 --outder --outfile gnutls-$name.der 2>/dev/null
done
