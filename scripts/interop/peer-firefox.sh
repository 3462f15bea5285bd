#!/usr/bin/env bash
# The Peer against a real browser: Firefox ESR (Debian) driven by puppeteer-core, in a
# loopback-only namespace (default route on lo so Firefox gathers 127.0.0.1).
#   1. Firefox offers, we answer: Firefox creates "chat", sends 100 text and binary messages
#      (one of 64 KiB); the CLI echoes each and greets; the page checks every echo.
#   2. We offer, Firefox answers: the CLI creates "chat" and sends 100 text and binary messages
#      (one of 64 KiB); the page echoes each; the CLI checks every echo.
#   3. The demo: Firefox opens the demo's page, which connects to the Peer over HTTP POST
#      signalling; the greeting and an echo must appear on the page and in the live stats.
#   4. A browser app: Firefox offers audio + video (fake camera and microphone, see
#      scripts/firefox.mjs, added with addTrack) and a data channel, we answer. The channel must
#      open and echo as in 1 and the connection must reach "connected". Our answer sends no
#      media: the audio section, the offer's BUNDLE tag, stays with a port, inactive, with one
#      codec (RFC 8843 §7.3.3 forbids rejecting the tag); the video section is rejected (m= port
#      0, RFC 3264 §6); our BUNDLE group is "<audio mid> <data mid>". Firefox stops the video
#      transceiver only.
#   5. As 4 with bundlePolicy 'max-bundle' (what many apps set): the audio section, the BUNDLE
#      tag, carries the only candidates and so the only transport, the data channel's too (the
#      others are bundle-only, port 0).
# In all, the channel must open on both sides. Pages 1, 2, 4 and 5 are served by the test from
# http://127.0.0.1 (a secure context: getUserMedia needs one).
# Set PEERLESS_SAVE_SDP=DIR to keep Firefox's offers (1, 4, 5) and our answers there.
. "$(dirname "$0")/../lib.sh"

section "peer: interop with Firefox"
need_firefox

cd "$ROOT"
cargo build -q --release -p peerless --example cli --example demo
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cli"
DEMO="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/demo"
[ -x "$BIN" ] && [ -x "$DEMO" ] || { echo "cli/demo not built at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
in_netns sh -c 'ip route add default dev lo src 127.0.0.1 && exec node "$@"' sh "$ROOT/scripts/interop/peers/peer-firefox.mjs" "$BIN" "$NPM_DIR" "$WORK" "$DEMO"
