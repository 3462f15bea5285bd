#!/usr/bin/env bash
# The payload formats' benchmark (prints, never gates): packets per CPU-second, peerless-rtp vs
# str0m 0.24's unversioned packetizers/depacketizers in the same run, with the ratio, for a
# 150 KB H.264 keyframe (encoder-like: uniform bytes with emulation prevention; and the older
# zero-free synthetic one), and a 30 KB VP8 keyframe at a 1200-byte payload. Rows: packetize;
# depacketize in order (same work both sides); reorder + depacketize with the packets shuffled
# within windows of 8 (ours through its jitter buffer, str0m's sorted: its jitter buffer is not
# public); round trip. BENCH_ITERATIONS (default 2000 H.264 frames, 5x that VP8); BENCH_ONLY=VP8
# runs one frame (for perf).
. "$(dirname "$0")/../lib.sh"
section "bench: rtp payload formats, peerless vs str0m"
cd "$ROOT/bench/rtp-vs-str0m"
BENCH_TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/bench-str0m"  # shared with peer.sh: str0m and aws-lc-sys build once
CARGO_TARGET_DIR="$BENCH_TARGET" cargo build -q --release
"$BENCH_TARGET/release/rtp-vs-str0m"
