#!/usr/bin/env bash
# SRTP benchmark: peerless vs libsrtp2 (C harness) vs a bare RustCrypto loop (the floor),
# protect and unprotect, 172 B and 1200 B, AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM.
# One process pair (our bench binary drives the harness over a pipe); prints, never gates.
# Release build without -C target-cpu=native (the crypto crates detect AES-NI/SHA-NI/PCLMUL
# at run time). SRTP_BENCH_PACKETS (default 20000) sets packets per round.
. "$(dirname "$0")/../lib.sh"

section "srtp: benchmark vs libsrtp2 and the RustCrypto floor"
need_apt libsrtp2-dev pkg-config gcc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
gcc -O2 -Wall -Wextra -o "$work/harness" "$ROOT/bench/srtp/harness.c" \
    $(pkg-config --cflags --libs libsrtp2)
cd "$ROOT"
cargo run -q --release -p peerless-srtp --example srtp_bench -- "$work/harness" \
    "${SRTP_BENCH_PACKETS:-20000}"
