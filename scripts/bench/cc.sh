#!/usr/bin/env bash
# Congestion control in the simulator: issue 16's scenarios (capacity x RTT grid, capacity
# halving and doubling mid-call, two flows on one bottleneck, 5 % random loss), one table per
# scenario: time to 85 % of capacity (first 1 s window), steady-state utilization, mean
# queueing delay, bottleneck drops, reaction to a capacity drop, per-flow rate and target.
# The goals are asserted by the tests themselves (cc/tests/scenarios.rs); this prints them.
. "$(dirname "$0")/../lib.sh"

section "cc: GCC-style estimator + pacer over the simulated bottleneck"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT"
cargo test -q --release -p peerless-cc --test scenarios -- --nocapture --test-threads 1 2>&1 |
    grep -vE '^(running [0-9]+ tests?|\.+)$|^test result:|^$'
