#!/usr/bin/env bash
# SCTP benchmark: two associations in memory, one reliable ordered data channel, 1 KiB and
# 16 KiB messages, MB of user data per CPU-second (both ends on one thread), with zero checksum
# and with CRC32c, against the floor (CRC32c + two copies of the same bytes). Goal: at least
# 300 MB per CPU-second at 16 KiB. Prints, never gates. SCTP_BENCH_MB (default 256) sets the
# data per size.
. "$(dirname "$0")/../lib.sh"

section "sctp: in-memory association pair, reliable ordered channel"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT"
cargo run -q --release -p peerless-sctp --features std --example bench -- "${SCTP_BENCH_MB:-256}"
