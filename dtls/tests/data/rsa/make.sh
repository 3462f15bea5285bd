#!/usr/bin/env bash
# How the RSA known answers here were made (OpenSSL 3; run once, the outputs are committed):
# a key and a self-signed DER certificate per size, and signatures over message.txt made
# with `openssl dgst -sign`. dtls/src/rsa.rs's tests verify them through the certificate.
set -euo pipefail
cd "$(dirname "$0")"
printf 'peerless verifies RSA signatures made by OpenSSL\n' > message.txt
for spec in 2048:65537 3072:65537 4096:65537 2056:65537 2048:3 1024:65537 4104:65537; do
    bits=${spec%%:*} e=${spec##*:}
    name=rsa$bits-e$e
    openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:$bits \
        -pkeyopt rsa_keygen_pubexp:$e -out $name.key.pem
    openssl req -x509 -new -key $name.key.pem -subj "/CN=$name" -days 36500 -sha256 \
        -outform DER -out $name.cert.der
    for h in sha256 sha384; do
        openssl dgst -$h -sign $name.key.pem -out $name.pkcs1-$h.sig message.txt
        openssl dgst -$h -sign $name.key.pem -sigopt rsa_padding_mode:pss \
            -sigopt rsa_pss_saltlen:digest -sigopt rsa_mgf1_md:$h -out $name.pss-$h.sig message.txt
    done
    rm $name.key.pem # the private keys are not needed to verify
done
