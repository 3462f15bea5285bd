#!/usr/bin/env bash
# peerless-dtls against GnuTLS, a second independent DTLS 1.2 implementation, over loopback in
# a lo-only network namespace. GnuTLS 3.7 has no AEAD SRTP profiles: SRTP_AES128_CM_HMAC_SHA1_80
# and _32 here.
#  - peerless server <- gnutls-cli: mutual certificates, data both ways, keying material equal
#    byte for byte; without and with our HelloVerifyRequest cookies (gnutls-cli -d 4 must log
#    the HELLO VERIFY REQUEST it received, so the cookie bound to its ClientHello came back);
#    once more at MTU 200 (ours) / 256 (GnuTLS).
#  - peerless client -> dtls-gnutls-server.c (libgnutls, built here): its own stateless cookie
#    exchange (it must log a HelloVerifyRequest sent and the cookie verified), client certificate
#    required and verified, keying material equal byte for byte (gnutls_prf_rfc5705), data both
#    ways; both profiles, and at MTU 200 / 256.
#  - peerless client -> gnutls-serv --echo: with its default cookies and without.
#  - GnuTLS with an RSA certificate (KEY=rsa:BITS; ours stays ECDSA): our server verifies its
#    RSA CertificateVerify, our client takes ECDHE_RSA and verifies its RSA ServerKeyExchange
#    (gnutls-serv and the libgnutls server); the suite we negotiated is printed.
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" = "--case" ]; then
    kind="$2"; arg="$3"; dir="$4"; cd "$dir"
    key="${KEY:-ec}"
    if [ "$key" = ec ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -sha256 \
            -subj /CN=gnutls-peer -keyout k.pem -out c.pem 2>/dev/null
    else
        openssl req -x509 -newkey "$key" -nodes -days 2 -sha256 \
            -subj /CN=gnutls-peer -keyout k.pem -out c.pem 2>/dev/null
    fi
    "$EX" --gen-cert ours
    fp="sha-256 $(openssl x509 -in c.pem -noout -fingerprint -sha256 | sed 's/.*=//')"
    prio='NORMAL:-VERS-ALL:+VERS-DTLS1.2'
    port=4444
    case "$kind" in
    server)
        profile="$arg"; small="${5:-}"; cookies="${6:-}"
        case "$profile" in
            SRTP_AES128_CM_HMAC_SHA1_80) ours=sha1_80 ;;
            SRTP_AES128_CM_HMAC_SHA1_32) ours=sha1_32 ;;
        esac
        mtu_ours=(); mtu_theirs=()
        [ "$small" = small ] && mtu_ours=(--mtu 200) && mtu_theirs=(--mtu 256)
        flag=(); [ "$cookies" = cookies ] && flag=(--cookies)
        timeout 20 "$EX" --role server --addr "127.0.0.1:$port" --cert ours --fingerprint "$fp" \
            --profile "$ours" --expect hello-from-gnutls "${mtu_ours[@]}" "${flag[@]}" >ours.log 2>&1 &
        pid=$!
        sleep 0.5
        ( sleep 1; echo hello-from-gnutls; sleep 1.5 ) | timeout 20 gnutls-cli -d 4 --udp -p "$port" 127.0.0.1 \
            --x509cafile ours.pem --x509certfile c.pem --x509keyfile k.pem --priority "$prio" \
            --srtp-profiles "$profile" --keymatexport EXTRACTOR-dtls_srtp --keymatexportsize 60 \
            --verify-hostname "$(openssl x509 -in ours.pem -noout -subject | sed 's/.*CN *= *//')" \
            "${mtu_theirs[@]}" >peer.log 2>&1 || true
        wait "$pid" || { cat ours.log peer.log; exit 1; }
        theirs="$(sed -n 's/^- Key material: \([0-9a-f]*\)/\1/p' peer.log | tr a-f A-F)"
        mine="$(sed -n 's/^Keying material: \([0-9A-F]*\)/\1/p' ours.log)"
        grep -q "SRTP profile: $profile" peer.log || { echo "no SRTP $profile"; cat peer.log; exit 1; }
        grep -q 'hello-from-peerless' peer.log || { echo "GnuTLS did not receive our data"; cat peer.log; exit 1; }
        [ -n "$theirs" ] && [ "$theirs" = "$mine" ] || { echo "keying material differs: ours [$mine] gnutls [$theirs]"; exit 1; }
        hvr="$(grep -c 'HELLO VERIFY REQUEST (3) was received' peer.log || true)"
        if [ "$cookies" = cookies ]; then
            [ "$hvr" -ge 1 ] || { echo "gnutls-cli got no HelloVerifyRequest from us"; exit 1; }
        else
            [ "$hvr" = 0 ] || { echo "a HelloVerifyRequest without cookies"; exit 1; }
        fi
        echo "ok: peerless server <- gnutls-cli ($key certificate, $(grep -o 'suite=[0-9A-F]*' ours.log | head -1)), $profile${small:+, MTU 200/256}, cookies $([ "$cookies" = cookies ] && echo on || echo off) (HelloVerifyRequests seen by GnuTLS: $hvr): $mine"
        ;;
    client-km)
        profile="$arg"; small="${5:-}"
        case "$profile" in
            SRTP_AES128_CM_HMAC_SHA1_80) ours=sha1_80 ;;
            SRTP_AES128_CM_HMAC_SHA1_32) ours=sha1_32 ;;
        esac
        mtu_ours=(); mtu_theirs=()
        [ "$small" = small ] && mtu_ours=(--mtu 200) && mtu_theirs=(256)
        timeout 20 "$GTS" "$port" c.pem k.pem ours.pem "$profile" 60 "${mtu_theirs[@]}" >peer.log 2>&1 &
        pid=$!
        sleep 0.5
        timeout 20 "$EX" --role client --addr "127.0.0.1:$port" --cert ours --fingerprint "$fp" \
            --profile "$ours" --send "hello-from-peerless" --expect hello-from-gnutls "${mtu_ours[@]}" >ours.log 2>&1 \
            || { kill "$pid" 2>/dev/null; cat ours.log peer.log; exit 1; }
        wait "$pid" || { cat ours.log peer.log; exit 1; }
        theirs="$(sed -n 's/^Keying material: \([0-9A-F]*\)/\1/p' peer.log)"
        mine="$(sed -n 's/^Keying material: \([0-9A-F]*\)/\1/p' ours.log)"
        grep -q '^HelloVerifyRequest sent' peer.log && grep -q '^Cookie verified' peer.log \
            || { echo "no cookie exchange"; cat peer.log; exit 1; }
        grep -q "^SRTP profile: $profile" peer.log || { echo "no SRTP $profile"; cat peer.log; exit 1; }
        grep -q '^RECEIVED hello-from-peerless' peer.log || { echo "GnuTLS did not receive our data"; cat peer.log; exit 1; }
        grep -q 'RECEIVED "hello-from-gnutls' ours.log || { echo "we did not receive GnuTLS's data"; cat ours.log; exit 1; }
        [ -n "$theirs" ] && [ "$theirs" = "$mine" ] || { echo "keying material differs: ours [$mine] gnutls [$theirs]"; exit 1; }
        echo "ok: peerless client -> libgnutls server ($key certificate, $(grep -o 'suite=[0-9A-F]*' ours.log | head -1)), HelloVerifyRequest cookie, $profile${small:+, MTU 200/256}: $mine"
        ;;
    client)
        cookies="$arg"; nocookie=(); [ "$cookies" = off ] && nocookie=(--nocookie)
        timeout 20 gnutls-serv --udp --echo -p "$port" --x509certfile c.pem --x509keyfile k.pem \
            --x509cafile ours.pem --require-client-cert --verify-client-cert --priority "$prio" \
            --srtp-profiles SRTP_AES128_CM_HMAC_SHA1_80 "${nocookie[@]}" >peer.log 2>&1 &
        pid=$!
        sleep 1
        timeout 20 "$EX" --role client --addr "127.0.0.1:$port" --cert ours --fingerprint "$fp" \
            --profile sha1_80 --send "hello-from-peerless" --expect hello-from-peerless >ours.log 2>&1 \
            || { kill "$pid" 2>/dev/null; cat ours.log peer.log; exit 1; }
        kill "$pid" 2>/dev/null || true
        grep -q 'RECEIVED "hello-from-peerless' ours.log || { echo "no echo"; cat ours.log; exit 1; }
        grep -q 'Keying material: ' ours.log || { echo "no SRTP keys"; cat ours.log; exit 1; }
        echo "ok: peerless client -> gnutls-serv (echo, $key certificate, $(grep -o 'suite=[0-9A-F]*' ours.log | head -1)), cookies $cookies, SRTP_AES128_CM_HMAC_SHA1_80"
        ;;
    esac
    exit 0
fi

need_apt gnutls-bin openssl libgnutls28-dev pkg-config gcc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
section "dtls-gnutls: build the UDP driver and the libgnutls server"
cargo build -q -p peerless-dtls --features std --example dtls-udp
EX="$CARGO_TARGET_DIR/debug/examples/dtls-udp"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
GTS="$WORK/dtls-gnutls-server"
gcc -O2 -Wall -Wextra -o "$GTS" "$ROOT/scripts/interop/dtls-gnutls-server.c" $(pkg-config --cflags --libs gnutls)
fail=0
n=0
run() {
    n=$((n + 1)); dir="$WORK/$n"; mkdir -p "$dir"
    in_netns env EX="$EX" GTS="$GTS" KEY="${KEY:-ec}" bash "$0" --case "$1" "$2" "$dir" "${3:-}" "${4:-}" || fail=1
}
run server SRTP_AES128_CM_HMAC_SHA1_80
run server SRTP_AES128_CM_HMAC_SHA1_80 "" cookies
run server SRTP_AES128_CM_HMAC_SHA1_32 "" cookies
run server SRTP_AES128_CM_HMAC_SHA1_80 small cookies
run client-km SRTP_AES128_CM_HMAC_SHA1_80
run client-km SRTP_AES128_CM_HMAC_SHA1_32
run client-km SRTP_AES128_CM_HMAC_SHA1_80 small
run client on
run client off
# GnuTLS with RSA certificates (ours stays ECDSA).
KEY=rsa:2048 run server SRTP_AES128_CM_HMAC_SHA1_80
KEY=rsa:4096 run server SRTP_AES128_CM_HMAC_SHA1_80 "" cookies
KEY=rsa:3072 run client-km SRTP_AES128_CM_HMAC_SHA1_80
KEY=rsa:2048 run client off
[ "$fail" = 0 ] && section "dtls-gnutls: all $n cases passed" || { section "dtls-gnutls: FAILED"; exit 1; }
