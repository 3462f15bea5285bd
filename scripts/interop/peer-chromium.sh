#!/usr/bin/env bash
# The Peer against Chromium (Debian's build) driven by puppeteer-core, in a loopback-only
# namespace (default route on lo so Chromium has an address to gather). The page is served by
# the test itself from http://127.0.0.1 so it is a secure context (getUserMedia needs one).
#   a. Chromium offers a data channel, we answer: the page sends 100 text and binary messages
#      (one of 64 KiB); the CLI echoes each and greets; the page checks every echo.
#   b. A browser app: Chromium offers audio + video (the fake camera and microphone, added with
#      addTrack) and a data channel, we answer. The channel must open and echo as in a and the
#      connection must reach "connected". Our answer sends no media: the audio section, the
#      offer's BUNDLE tag, stays with a port, inactive, with one codec (RFC 8843 §7.3.3 forbids
#      rejecting the tag); the video section is rejected (m= port 0, RFC 3264 §6); our BUNDLE
#      group is "<audio mid> <data mid>". Chromium stops the video transceiver only.
#   c. We offer a data channel, Chromium answers: the CLI sends 100 messages, the page echoes
#      each, the CLI checks every echo.
#   d. As b with bundlePolicy 'max-bundle' (what many apps set): the audio section, the BUNDLE
#      tag, carries the only candidates and so the only transport, the data channel's too.
#   e. As a, with Chromium's default mDNS hiding of host candidates: the offer names only a
#      "<uuid>.local" host nobody can resolve here, so the Peer must reach Chromium through
#      the peer-reflexive candidate Chromium's checks reveal (RFC 8445 §7.3.1.3).
#   f. As c, with the hiding: the Peer, controlling, must nominate a peer-reflexive pair.
# a-d run with the hiding turned off (scripts/chromium.mjs says how) in a loopback-only
# namespace, so every candidate is 127.0.0.1. Chromium gathers nothing to hide without a
# default route on a real interface, so e and f run in a second namespace that also holds a veth
# pair (both ends inside it: it reaches nothing but itself); the Peer still binds 127.0.0.1.
# If veth pairs cannot be made here, e and f are reported as skipped.
# Set PEERLESS_SAVE_SDP=DIR to keep Chromium's offers and our answers there.
. "$(dirname "$0")/../lib.sh"

section "peer: interop with Chromium"
need_chromium

cd "$ROOT"
cargo build -q --release -p peerless --example cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cli"
[ -x "$BIN" ] || { echo "cli not built at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
rc=0
in_netns sh -c 'ip route add default dev lo src 127.0.0.1 && exec node "$@"' sh \
    "$ROOT/scripts/interop/peers/peer-chromium.mjs" "$BIN" "$NPM_DIR" "$WORK" loopback || rc=1
# shellcheck disable=SC2016
if unshare --net -- sh -c 'ip link add pl0 type veth peer name pl1' 2>/dev/null; then
    unshare --net -- sh -c 'ip link set lo up && ip link add pl0 type veth peer name pl1 &&
        ip addr add 10.255.0.1/24 dev pl0 && ip link set pl0 up && ip link set pl1 up &&
        ip route add default dev pl0 && exec node "$@"' sh \
        "$ROOT/scripts/interop/peers/peer-chromium.mjs" "$BIN" "$NPM_DIR" "$WORK" mdns || rc=1
else
    echo "skip e, f (mDNS-hidden hosts): no veth pairs in a network namespace here"
fi
exit $rc
