#!/usr/bin/env bash
# Two Peers over UDP on ::1 (demo --selftest --ipv6): IPv6 host candidates signalled in SDP,
# an IPv6 pair selected, DTLS, SCTP and an echoed data channel; then the same on 127.0.0.1;
# then dual-stack (--dual-stack): each Peer has a socket and a host candidate on 127.0.0.1
# and on ::1, the getStats report must show a pair in each family and none across families
# (the selftest fails otherwise), and the channel must work.
# Loopback only, in a fresh network namespace.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
section "peer: two Peers on ::1, on 127.0.0.1, and dual-stack on both"
cargo build -q --release -p peerless --example demo
DEMO="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/demo"
status=0
for family in --ipv6 "" --dual-stack; do
    case "$family" in
        --ipv6) name="::1" ;;
        --dual-stack) name="127.0.0.1 and ::1" ;;
        *) name="127.0.0.1" ;;
    esac
    out=$(in_netns timeout 60 "$DEMO" --selftest --count 20 $family 2>&1) || true
    pair=$(echo "$out" | sed -n 's/.*selected pair *//p')
    pairs=$(echo "$out" | sed -n 's/.*candidate pairs *//p')
    if echo "$out" | grep -q "selftest OK" &&
        { [ "$family" != --ipv6 ] || echo "$pair" | grep -q '\[::1\]:[0-9]*, \[::1\]'; } &&
        { [ "$family" != --dual-stack ] || echo "$pairs" | grep -q '^2: '; }; then
        echo "ok   $name: selected $pair, pairs $pairs, $(echo "$out" | sed -n 's/.*connect time *//p')"
    else
        echo "FAIL $name:"
        echo "$out"
        status=1
    fi
done
exit $status
