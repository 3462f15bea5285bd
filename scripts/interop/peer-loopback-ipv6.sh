#!/usr/bin/env bash
# Two Peers over UDP on ::1 (demo --selftest --ipv6): IPv6 host candidates signalled in SDP,
# an IPv6 pair selected, DTLS, SCTP and an echoed data channel; then the same on 127.0.0.1.
# Loopback only, in a fresh network namespace.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
section "peer: two Peers on ::1 and on 127.0.0.1"
cargo build -q --release -p peerless --example demo
DEMO="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/demo"
status=0
for family in --ipv6 ""; do
    out=$(in_netns timeout 60 "$DEMO" --selftest --count 20 $family 2>&1) || true
    pair=$(echo "$out" | sed -n 's/.*selected pair *//p')
    if echo "$out" | grep -q "selftest OK" &&
        { [ -z "$family" ] || echo "$pair" | grep -q '\[::1\]:[0-9]*, \[::1\]'; }; then
        echo "ok   $(if [ -n "$family" ]; then echo "::1"; else echo "127.0.0.1"; fi): selected $pair, $(echo "$out" | sed -n 's/.*connect time *//p')"
    else
        echo "FAIL $(if [ -n "$family" ]; then echo "::1"; else echo "127.0.0.1"; fi):"
        echo "$out"
        status=1
    fi
done
exit $status
