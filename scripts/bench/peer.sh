#!/usr/bin/env bash
# The Peer's benchmarks (print, never gate):
#   1. connect CPU for an in-memory pair (ICE + DTLS + SCTP + DCEP to an open channel, pre-made
#      certificates) and data-channel throughput (1 KiB and 16 KiB messages), peerless vs str0m
#      (the published crate, RustCrypto provider) in the same run, with ratios; our DTLS
#      handshake alone is printed as the floor of a connect. Like for like: ours with CRC32c
#      (str0m's SCTP always computes it) and with zero checksum (RFC 9653); the same DTLS suite
#      and group on both sides (str0m's dimpl pinned), read off the wire and printed; each
#      side's RustCrypto versions benched bare as crypto floors (AES-GCM, P-256, x25519);
#   2. connect wall time over real loopback UDP (two Peers, two sockets, lo-only namespace),
#      from Peer::new and from set_remote_description to the open channel (median of
#      BENCH_CONNECTS runs, default 11), from `demo --selftest`, with the last run's steps (ICE
#      pair, DTLS, SCTP, channel as each side saw them) and the load average (other processes'
#      scheduling delay adds to every hop).
# BENCH_ITERATIONS (default 20) sets the connects per implementation.
. "$(dirname "$0")/../lib.sh"
section "bench: peer, peerless vs str0m"
cd "$ROOT/bench/peer-vs-str0m"
BENCH_TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/bench-str0m"  # shared with rtp.sh: str0m and aws-lc-sys build once
CARGO_TARGET_DIR="$BENCH_TARGET" cargo build -q --release
"$BENCH_TARGET/release/peer-vs-str0m"

section "bench: peer connect wall time over loopback UDP"
cd "$ROOT"
cargo build -q --release -p peerless --example demo
DEMO="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/demo"
# The connect time, set_remote_description to the open channel, is the figure issue 17 sets
# a goal for (<= 5 ms; its figure for Pion on the same machine is 2.4 ms, not measured here).
runs="${BENCH_CONNECTS:-11}"
times=()
connects=()
for _ in $(seq "$runs"); do
    out=$(in_netns "$DEMO" --selftest --count 20)
    times+=("$(echo "$out" | sed -n 's/.*channel open after *\([0-9.]*\) ms.*/\1/p')")
    connects+=("$(echo "$out" | sed -n 's/.*connect time *\([0-9.]*\) ms.*/\1/p')")
    steps=$(echo "$out" | sed -n '/connect steps/,/answerer/p')
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "connect wall time over loopback UDP, Peer::new to open channel (ms, $runs runs): ${times[*]}"
echo "connect wall time over loopback UDP, set_remote_description to open channel (ms, $runs runs): ${connects[*]}"
echo "  median: $(median "${connects[@]}") ms (goal <= 5 ms; Pion 2.4 ms per issue 17, not measured in this run)"
echo "  the last run's steps:"
echo "$steps"
# Other processes on the machine add their scheduling delay to every hop of a connect.
echo "  load average while measuring: $(cut -d' ' -f1-3 /proc/loadavg)"
