#!/usr/bin/env bash
# STUN benchmark: a browser-like Binding request parsed, USERNAME read, MESSAGE-INTEGRITY and
# FINGERPRINT verified, in ns per message, against the floor (HMAC-SHA1 + CRC-32 over the same
# bytes without parsing), plus emitting the signed success response. Prints, never gates.
# STUN_BENCH_MESSAGES (default 200000) sets messages per round.
. "$(dirname "$0")/../lib.sh"

section "stun: binding request parse + integrity + fingerprint"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT"
cargo run -q --release -p peerless-stun --example stun_bench -- "${STUN_BENCH_MESSAGES:-200000}"
