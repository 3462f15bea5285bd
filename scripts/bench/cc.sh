#!/usr/bin/env bash
# Congestion control in the simulator: issue 16's scenarios (capacity x RTT grid, capacity
# halving and doubling mid-call, two flows on one bottleneck, 5 % random loss), one table per
# scenario: time to 85 % of capacity (first 1 s window), steady-state utilization, mean
# queueing delay, bottleneck drops, reaction to a capacity drop, per-flow rate and target.
# First the bare estimator + pacer (cc/tests/scenarios.rs), then the same scenarios through two
# real Peers (peer/tests/bandwidth_scenarios.rs: SRTP, transport-cc feedback from the remote
# Peer, the host's encoder following Event::BitrateEstimate). The goals are asserted by the
# tests themselves; this prints them. The Peer table runs for PEERLESS_SIM_SEEDS seeds (10
# unless set): each seed draws other DRBG output and so other timings.
. "$(dirname "$0")/../lib.sh"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT"
quiet() { grep -vE '^(running [0-9]+ tests?|\.+)$|^test result:|^$'; }

section "cc: GCC-style estimator + pacer over the simulated bottleneck"
status=0
cargo test -q --release -p peerless-cc --test scenarios -- --nocapture --test-threads 1 2>&1 |
    quiet || status=1

section "cc: the same scenarios through two Peers (peerless)"
PEERLESS_SIM_SEEDS="${PEERLESS_SIM_SEEDS:-10}" \
    cargo test -q --release -p peerless --test bandwidth_scenarios -- --nocapture --test-threads 1 2>&1 |
    quiet || status=1
exit "$status"
