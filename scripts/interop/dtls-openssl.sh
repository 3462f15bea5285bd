#!/usr/bin/env bash
# peerless-dtls against OpenSSL 3 (`openssl s_server` / `s_client -dtls1_2`) over loopback, in a
# lo-only network namespace: both roles, with and without HelloVerifyRequest cookies, both SRTP
# profiles (AEAD_AES_128_GCM, AES128_CM_SHA1_80), AES-128-GCM, mutual certificate pinning.
# Each run checks: the handshake completes, application data goes both ways, and the
# EXTRACTOR-dtls_srtp keying material we print equals OpenSSL's `Keying material:` byte for byte.
# One more case: our client against dtls-openssl-long-cookie.c (libssl, built here), whose
# HelloVerifyRequest cookies are 255 bytes (RFC 6347's maximum; s_server cannot be told).
# The firmware-feature build (peerless-dtls without aes-256-gcm, chacha20-poly1305, x25519),
# both roles, against OpenSSL preferring ChaCha20-Poly1305 and x25519: AES-128-GCM over
# secp256r1 is what must be negotiated.
# RSA cases: OpenSSL with an RSA certificate (2048/3072/4096 bits, as GStreamer and SIP gateways
# have), our certificate ECDSA. As the client we take an ECDHE_RSA suite and verify the
# server's RSA ServerKeyExchange (PSS or PKCS#1, SHA-256 or SHA-384, as -sigalgs forces); as the
# server we verify the client's RSA CertificateVerify (-client_sigalgs). The scheme OpenSSL
# used is read from its -trace. A client offering only ECDHE_RSA suites is refused.
. "$(dirname "$0")/../lib.sh"

# One RSA case inside the namespace: our role, work dir, RSA bits, our --suite, OpenSSL's
# sigalgs (the scheme it must sign with), and "refuse" if the handshake must fail.
if [ "${1:-}" = "--rsa-case" ]; then
    role="$2"; dir="$3"; bits="$4"; suite="$5"; sigalg="$6"; expect="${7:-ok}"; cd "$dir"
    openssl req -x509 -newkey rsa:"$bits" -nodes -days 2 -sha256 \
        -subj /CN=openssl-rsa-peer -keyout k.pem -out c.pem 2>/dev/null
    "$EX" --gen-cert ours
    fp="sha-256 $(openssl x509 -in c.pem -noout -fingerprint -sha256 | sed 's/.*=//')"
    port=4433
    # Suite "any": OpenSSL prefers what a firmware-feature build of ours leaves out (x25519,
    # and as a server its own suite order), and traces its messages so the group is seen.
    their_groups=P-256:X25519; prefer_others=()
    [ "$suite" = any ] && their_groups=X25519:P-256 && prefer_others=(-groups X25519:P-256 -serverpref -trace)
    common=(-dtls1_2 -cert c.pem -key k.pem -use_srtp SRTP_AEAD_AES_128_GCM
        -keymatexport EXTRACTOR-dtls_srtp -keymatexportlen 56 -CAfile ours.pem
        -verify_return_error -trace)
    if [ "$role" = client ]; then
        ( sleep 1; echo hello-from-openssl; sleep 1.5 ) | timeout 20 openssl s_server "${common[@]}" \
            -accept "127.0.0.1:$port" -naccept 1 -no_ticket -Verify 1 -sigalgs "$sigalg" \
            -client_sigalgs ECDSA+SHA256 >peer.log 2>&1 &
        sleep 0.5
        timeout 20 "$EX" --role client --addr "127.0.0.1:$port" --cert ours --fingerprint "$fp" \
            --profile aes128gcm --suite "$suite" --expect hello-from-openssl >ours.log 2>&1 || { cat ours.log peer.log; exit 1; }
        sent_by=ServerKeyExchange
    else
        ciphers=(); [ "$expect" = refuse ] && ciphers=(-cipher ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384)
        timeout 20 "$EX" --role server --addr "127.0.0.1:$port" --cert ours --fingerprint "$fp" \
            --profile aes128gcm --suite "$suite" --expect hello-from-openssl >ours.log 2>&1 &
        ours_pid=$!
        sleep 0.5
        ( sleep 1; echo hello-from-openssl; sleep 1.5 ) | timeout 20 openssl s_client "${common[@]}" \
            -connect "127.0.0.1:$port" -client_sigalgs "$sigalg" "${ciphers[@]}" >peer.log 2>&1 || true
        if [ "$expect" = refuse ]; then
            wait "$ours_pid" && { echo "an ECDHE_RSA-only client was accepted"; cat ours.log; exit 1; }
            grep -q 'alert.*handshake_failure\|handshake failure\|HandshakeFailed' peer.log ours.log \
                || { echo "no handshake_failure"; cat ours.log peer.log; exit 1; }
            echo "ok: peerless server refuses a client offering only ECDHE_RSA suites (handshake_failure)"
            exit 0
        fi
        wait "$ours_pid" || { cat ours.log peer.log; exit 1; }
        sent_by=CertificateVerify
    fi
    wait || true
    theirs="$(grep -o 'Keying material: [0-9A-F]*' peer.log | head -1)"
    mine="$(grep -o 'Keying material: [0-9A-F]*' ours.log | head -1)"
    grep -q 'hello-from-peerless' peer.log || { echo "OpenSSL did not receive our data"; cat peer.log; exit 1; }
    grep -q 'RECEIVED "hello-from-openssl' ours.log || { echo "we did not receive OpenSSL's data"; cat ours.log; exit 1; }
    [ -n "$theirs" ] && [ "$theirs" = "$mine" ] || { echo "keying material differs: ours [$mine] openssl [$theirs]"; exit 1; }
    # The scheme OpenSSL signed with, from its trace of the message it sent.
    scheme="$(awk -v m="$sent_by" '$0 ~ m {f=1} f && /[Ss]ignature.*(rsa|RSA)/ {print; exit}' peer.log \
        | grep -o 'rsa_[a-z0-9_]*' | head -1 || true)"
    suite_seen="$(grep -o 'suite=[0-9A-F]*' ours.log | head -1)"
    if [ -z "$scheme" ] && [ "$role" = client ]; then
        # OpenSSL's -trace parses only a ServerKeyExchange that fits one record; a 3072-bit
        # signature makes it fragment. -sigalgs allowed OpenSSL this one scheme only.
        scheme="$sigalg (the only one -sigalgs allowed; fragmented in the trace)"
    fi
    [ -n "$scheme" ] || { echo "no RSA signature scheme in OpenSSL's trace of its $sent_by"; exit 1; }
    case "$scheme" in "$sigalg"*) ;; *) echo "OpenSSL signed with $scheme, not $sigalg"; exit 1 ;; esac
    echo "ok: peerless $role, OpenSSL RSA-$bits certificate, $sent_by signed $scheme, $suite_seen: ${mine#Keying material: }"
    exit 0
fi

# Our client against the libssl server with 255-byte cookies, inside the namespace.
if [ "${1:-}" = "--long-cookie" ]; then
    dir="$2"; cd "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -sha256 \
        -subj /CN=openssl-peer -keyout k.pem -out c.pem 2>/dev/null
    "$EX" --gen-cert ours
    fp="sha-256 $(openssl x509 -in c.pem -noout -fingerprint -sha256 | sed 's/.*=//')"
    timeout 20 "$LONG" 4433 c.pem k.pem ours.pem SRTP_AEAD_AES_128_GCM 56 >peer.log 2>&1 &
    pid=$!
    sleep 0.5
    timeout 20 "$EX" --role client --addr 127.0.0.1:4433 --cert ours --fingerprint "$fp" \
        --profile aes128gcm --send hello-from-peerless --expect hello-from-openssl >ours.log 2>&1 \
        || { kill "$pid" 2>/dev/null; cat ours.log peer.log; exit 1; }
    wait "$pid" || { cat ours.log peer.log; exit 1; }
    grep -q '^HelloVerifyRequest cookie of 255 bytes' peer.log && grep -q '^Cookie of 255 bytes verified' peer.log \
        || { echo "no 255-byte cookie round trip"; cat peer.log; exit 1; }
    grep -q '^RECEIVED hello-from-peerless' peer.log || { echo "OpenSSL did not receive our data"; cat peer.log; exit 1; }
    grep -q 'RECEIVED "hello-from-openssl' ours.log || { echo "we did not receive OpenSSL's data"; cat ours.log; exit 1; }
    theirs="$(sed -n 's/^Keying material: \([0-9A-F]*\)/\1/p' peer.log)"
    mine="$(sed -n 's/^Keying material: \([0-9A-F]*\)/\1/p' ours.log)"
    [ -n "$theirs" ] && [ "$theirs" = "$mine" ] || { echo "keying material differs: ours [$mine] openssl [$theirs]"; exit 1; }
    echo "ok: peerless client, 255-byte HelloVerifyRequest cookie (libssl), SRTP_AEAD_AES_128_GCM: $mine"
    exit 0
fi

# One case, run inside the namespace: our role, cookies (on/off), SRTP profile, work dir, suite.
if [ "${1:-}" = "--case" ]; then
    role="$2"; cookies="$3"; profile="$4"; dir="$5"; suite="${6:-aes128}"; small="${7:-}"; group="${8:-any}"; cd "$dir"
    # Small MTU: we fragment at 200 bytes, OpenSSL at 256 (its minimum), so both sides must
    # reassemble the other's fragmented flights.
    mtu_ours=(); mtu_theirs=()
    [ -n "$small" ] && mtu_ours=(--mtu 200) && mtu_theirs=(-mtu 256)
    case "$suite" in
        aes128) cipher=ECDHE-ECDSA-AES128-GCM-SHA256 ;;
        aes256) cipher=ECDHE-ECDSA-AES256-GCM-SHA384 ;;
        chacha) cipher=ECDHE-ECDSA-CHACHA20-POLY1305 ;;
        # Our default list against every ECDSA suite of OpenSSL's, its own preference first
        # (the firmware-feature build: only AES-128-GCM of ours may be picked).
        any) cipher=ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256 ;;
    esac
    case "$profile" in
        SRTP_AEAD_AES_128_GCM) ours=aes128gcm; len=56 ;;
        SRTP_AES128_CM_SHA1_80) ours=sha1_80; len=60 ;;
    esac
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -sha256 \
        -subj /CN=openssl-peer -keyout k.pem -out c.pem 2>/dev/null
    "$EX" --gen-cert ours
    fp="sha-256 $(openssl x509 -in c.pem -noout -fingerprint -sha256 | sed 's/.*=//')"
    port=4433
    # Suite "any": OpenSSL prefers what a firmware-feature build of ours leaves out (x25519,
    # and as a server its own suite order), and traces its messages so the group is seen.
    their_groups=P-256:X25519; prefer_others=()
    [ "$suite" = any ] && their_groups=X25519:P-256 && prefer_others=(-groups X25519:P-256 -serverpref -trace)
    common=(-dtls1_2 -cert c.pem -key k.pem -cipher "$cipher"
        -use_srtp "$profile" -keymatexport EXTRACTOR-dtls_srtp -keymatexportlen "$len"
        -CAfile ours.pem -verify_return_error)
    # OpenSSL prints the keying material only if its stdin is quiet at handshake time: the
    # line it sends comes 1 s later.
    if [ "$role" = client ]; then
        listen=(); [ "$cookies" = on ] && listen=(-listen)
        ( sleep 1; echo hello-from-openssl; sleep 1.5 ) | timeout 20 openssl s_server "${common[@]}" \
            -accept "127.0.0.1:$port" -naccept 1 -no_ticket -Verify 1 "${listen[@]}" "${mtu_theirs[@]}" \
            "${prefer_others[@]}" >peer.log 2>&1 &
        sleep 0.5
        timeout 20 "$EX" --role client --addr "127.0.0.1:$port" --cert ours --fingerprint "$fp" \
            --profile "$ours" --suite "$suite" --group "$group" --expect hello-from-openssl "${mtu_ours[@]}" >ours.log 2>&1 || { cat ours.log peer.log; exit 1; }
    else
        flag=(); [ "$cookies" = on ] && flag=(--cookies)
        timeout 20 "$EX" --role server --addr "127.0.0.1:$port" --cert ours --fingerprint "$fp" \
            --profile "$ours" --suite "$suite" --group "$group" --expect hello-from-openssl "${flag[@]}" "${mtu_ours[@]}" >ours.log 2>&1 &
        ours_pid=$!
        sleep 0.5
        ( sleep 1; echo hello-from-openssl; sleep 1.5 ) | timeout 20 openssl s_client "${common[@]}" \
            -connect "127.0.0.1:$port" -groups "$their_groups" -trace "${mtu_theirs[@]}" >peer.log 2>&1 || true
        wait "$ours_pid" || { cat ours.log peer.log; exit 1; }
    fi
    wait || true
    theirs="$(grep -o 'Keying material: [0-9A-F]*' peer.log | head -1)"
    mine="$(grep -o 'Keying material: [0-9A-F]*' ours.log | head -1)"
    grep -q "SRTP Extension negotiated, profile=$profile" peer.log || { echo "no SRTP $profile"; cat peer.log; exit 1; }
    grep -q 'hello-from-peerless' peer.log || { echo "OpenSSL did not receive our data"; cat peer.log; exit 1; }
    grep -q 'RECEIVED "hello-from-openssl' ours.log || { echo "we did not receive OpenSSL's data"; cat ours.log; exit 1; }
    if [ "$role" = server ] && [ "$cookies" = on ]; then
        grep -q HelloVerifyRequest peer.log || { echo "no HelloVerifyRequest seen by s_client"; exit 1; }
    fi
    [ -n "$theirs" ] && [ "$theirs" = "$mine" ] || { echo "keying material differs: ours [$mine] openssl [$theirs]"; exit 1; }
    # What was negotiated: the suite from our CONNECTED line, the group from OpenSSL's trace
    # of the ServerKeyExchange. A build without the optional suites and group must end on
    # ECDHE_ECDSA_AES_128_GCM_SHA256 (C02B) over secp256r1 although OpenSSL prefers others.
    suite_seen="$(grep -o 'suite=[0-9A-F]*' ours.log | head -1)"
    group_seen="$(grep -oE 'named_curve: *[a-z0-9_]+' peer.log | head -1 || true)"
    if [ "${MUST_NEGOTIATE:-}" != "" ]; then
        [ "$suite_seen" = suite=C02B ] || { echo "negotiated $suite_seen, expected suite=C02B"; exit 1; }
        [ "$group_seen" = "named_curve: secp256r1" ] || { echo "negotiated group [$group_seen], expected secp256r1"; exit 1; }
    fi
    echo "ok: peerless $role, cookies $cookies, $suite, group $group, $profile${small:+, MTU 200/256}: $suite_seen ${group_seen:+($group_seen) }${mine#Keying material: }"
    exit 0
fi

need_apt openssl libssl-dev gcc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
section "dtls-openssl: build the UDP driver and the long-cookie server"
cargo build -q -p peerless-dtls --features std --example dtls-udp
EX="$CARGO_TARGET_DIR/debug/examples/dtls-udp"
# The same driver built as firmware builds peerless-dtls: without the optional suites and
# group (features aes-256-gcm, chacha20-poly1305, x25519), in its own target directory.
cargo build -q -p peerless-dtls --no-default-features --features std --example dtls-udp \
    --target-dir "$CARGO_TARGET_DIR/dtls-firmware-features"
EX_FW="$CARGO_TARGET_DIR/dtls-firmware-features/debug/examples/dtls-udp"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
LONG="$WORK/dtls-openssl-long-cookie"
gcc -O2 -Wall -Wextra -o "$LONG" "$ROOT/scripts/interop/dtls-openssl-long-cookie.c" -lssl -lcrypto

fail=0
for role in client server; do
    for cookies in off on; do
        for profile in SRTP_AEAD_AES_128_GCM SRTP_AES128_CM_SHA1_80; do
            dir="$WORK/$role-$cookies-$profile"; mkdir -p "$dir"
            in_netns env EX="$EX" bash "$0" --case "$role" "$cookies" "$profile" "$dir" aes128 || fail=1
        done
    done
done
# The other two suites, each with ECDHE over P-256 (our side offers or accepts only it) and
# over x25519 (what both sides prefer otherwise).
for c in "client aes256 p256" "server chacha p256" "client chacha x25519" "server aes256 x25519"; do
    set -- $c
    dir="$WORK/$1-$2-$3"; mkdir -p "$dir"
    in_netns env EX="$EX" bash "$0" --case "$1" off SRTP_AEAD_AES_128_GCM "$dir" "$2" "" "$3" || fail=1
done
# The firmware-feature build (P-256 and AES-128-GCM only) against OpenSSL preferring
# ChaCha20-Poly1305, AES-256-GCM and x25519: both roles end on AES-128-GCM over secp256r1.
for role in client server; do
    dir="$WORK/firmware-features-$role"; mkdir -p "$dir"
    in_netns env EX="$EX_FW" MUST_NEGOTIATE=1 bash "$0" --case "$role" off SRTP_AEAD_AES_128_GCM "$dir" any || fail=1
done
# Small MTU both ways, both roles.
for role in client server; do
    dir="$WORK/$role-small"; mkdir -p "$dir"
    in_netns env EX="$EX" bash "$0" --case "$role" on SRTP_AEAD_AES_128_GCM "$dir" aes128 small || fail=1
done
dir="$WORK/long-cookie"; mkdir -p "$dir"
in_netns env EX="$EX" LONG="$LONG" bash "$0" --long-cookie "$dir" || fail=1
# RSA certificates on OpenSSL's side: role, bits, our suites, the scheme OpenSSL must use.
for c in "client 2048 all rsa_pss_rsae_sha256" "client 4096 rsa-aes256 rsa_pkcs1_sha384" \
         "client 3072 rsa-aes128 rsa_pkcs1_sha256" "client 2048 rsa-aes128 rsa_pss_rsae_sha384" \
         "client 2048 rsa-chacha rsa_pss_rsae_sha256" \
         "server 2048 all rsa_pss_rsae_sha256" "server 4096 all rsa_pkcs1_sha256" \
         "server 3072 aes256 rsa_pss_rsae_sha384" "server 2048 all rsa_pkcs1_sha384 refuse"; do
    set -- $c
    dir="$WORK/rsa-$1-$2-$4"; mkdir -p "$dir"
    in_netns env EX="$EX" bash "$0" --rsa-case "$1" "$dir" "$2" "$3" "$4" "${5:-ok}" || fail=1
done
[ "$fail" = 0 ] && section "dtls-openssl: all 26 cases passed" || { section "dtls-openssl: FAILED"; exit 1; }
