#!/usr/bin/env bash
# DTLS handshake CPU time: peerless-dtls vs dimpl (RustCrypto provider), both sides in memory,
# pre-made certificates, printed from one run with the ratio. Prints; never gates.
# BENCH_ITERATIONS (default 50) sets the number of handshakes per implementation.
. "$(dirname "$0")/../lib.sh"
section "bench: dtls handshake, peerless vs dimpl"
cd "$ROOT/bench/dtls-vs-dimpl"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/bench-dtls-vs-dimpl"
cargo build -q --release
"$CARGO_TARGET_DIR/release/dtls-vs-dimpl"
