#!/usr/bin/env bash
# SRTP on the aws-lc-rs backend (servers): peerless-srtp built with peerless-crypto's feature
# aws-lc-rs vs a bare aws-lc-rs loop of the same shape (its floor) vs libsrtp 2.5.0 with OpenSSL
# (the harness scripts/bench/srtp.sh builds and caches under the target dir; srtp.sh runs before
# this script in `./ci.sh bench`). Protect and unprotect, 172 B and 1200 B,
# AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM, thread CPU time, best of five interleaved rounds.
# The RustCrypto backend's rows (and its floor) are srtp.sh's. Prints, never gates.
# aws-lc-sys builds AWS-LC from source with the C compiler (no cmake, no clang, no nasm needed
# on x86-64 Linux). SRTP_BENCH_PACKETS (default 20000) sets packets per round.
. "$(dirname "$0")/../lib.sh"

section "srtp: the aws-lc-rs backend vs its floor and libsrtp+OpenSSL"
need_apt gcc libssl-dev
target="${CARGO_TARGET_DIR:-$ROOT/target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
harness=()
cache="$target/libsrtp-openssl"
if [ -f "$cache/install/lib/libsrtp2.a" ] && [ -f "$cache/version" ]; then
    gcc -O2 -Wall -Wextra -o "$work/harness-openssl" "$ROOT/bench/srtp/harness.c" \
        -I"$cache/install/include" "$cache/install/lib/libsrtp2.a" -lcrypto
    echo "libsrtp+OpenSSL: $(cat "$cache/version"), OpenSSL $(dpkg-query -W -f='${Version}' libssl3)"
    harness=("libsrtp+OpenSSL=$work/harness-openssl")
else
    echo "libsrtp+OpenSSL: not built (run scripts/bench/srtp.sh first): that column is missing"
fi
cd "$ROOT/bench/srtp-aws-lc"
export CARGO_TARGET_DIR="$target/bench-srtp-aws-lc"
cargo build -q --release
"$CARGO_TARGET_DIR/release/srtp-aws-lc" "${SRTP_BENCH_PACKETS:-20000}" "${harness[@]}"
