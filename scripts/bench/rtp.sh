#!/usr/bin/env bash
# The payload formats' benchmark (prints, never gates): packets per CPU-second to packetize a
# 150 KB H.264 keyframe and a 30 KB VP8 keyframe at a 1200-byte payload and depacketize them
# back with the packets shuffled within windows of 8, peerless-rtp (through its jitter buffer)
# vs str0m 0.24's unversioned packetizers/depacketizers (packets sorted, then depacketized),
# in the same run, with the ratio. BENCH_ITERATIONS (default 2000 H.264 frames, 10x that VP8).
. "$(dirname "$0")/../lib.sh"
section "bench: rtp payload formats, peerless vs str0m"
cd "$ROOT/bench/rtp-vs-str0m"
BENCH_TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/bench-rtp-vs-str0m"
CARGO_TARGET_DIR="$BENCH_TARGET" cargo build -q --release
"$BENCH_TARGET/release/rtp-vs-str0m"
