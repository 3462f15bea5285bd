#!/usr/bin/env bash
# The Peer's benchmarks (print, never gate):
#   1. connect CPU for an in-memory pair (ICE + DTLS + SCTP + DCEP to an open channel, pre-made
#      certificates) and data-channel throughput (1 KiB and 16 KiB messages), peerless vs str0m
#      (the published crate, RustCrypto provider) in the same run, with ratios; our DTLS
#      handshake alone is printed as the floor of a connect;
#   2. connect wall time over real loopback UDP (two Peers, two sockets, lo-only namespace),
#      from Peer::new to the open channel, from `demo --selftest`.
# BENCH_ITERATIONS (default 20) sets the connects per implementation.
. "$(dirname "$0")/../lib.sh"
section "bench: peer, peerless vs str0m"
cd "$ROOT/bench/peer-vs-str0m"
BENCH_TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/bench-peer-vs-str0m"
CARGO_TARGET_DIR="$BENCH_TARGET" cargo build -q --release
"$BENCH_TARGET/release/peer-vs-str0m"

section "bench: peer connect wall time over loopback UDP"
cd "$ROOT"
cargo build -q --release -p peerless --example demo
DEMO="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/demo"
times=()
for _ in 1 2 3 4 5; do
    t=$(in_netns "$DEMO" --selftest --count 20 | sed -n 's/.*channel open after *\([0-9.]*\) ms.*/\1/p')
    times+=("$t")
done
echo "connect wall time over loopback UDP, Peer::new to open channel (ms, 5 runs): ${times[*]}"
