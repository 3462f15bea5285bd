#!/usr/bin/env bash
# The demo's video call with Firefox ESR (Debian) driven by puppeteer-core, in a loopback-only
# namespace (default route on lo so Firefox gathers 127.0.0.1). The page connects its chat
# channel, then "Call" adds the fake camera and microphone to the same connection (a new offer
# to the same session); the demo's Peer writes every frame it receives back on the same
# transceiver.
#   1. Camera and microphone: Firefox's getStats says it decoded >= 30 video frames and
#      received audio packets from the Peer and sent packets on both; the demo's counters say
#      >= 30 frames of each kind arrived from Firefox and were sent back; the keypad's "1#9"
#      (RTCDTMFSender.insertDTMF) arrives as three Event::Dtmf with those keys, reported back
#      over the data channel ("dtmf 1 100ms") and shown on the page. The page's stats show the
#      Peer's target bitrate (the "bandwidth" table: > 0 kbit/s, after Event::BitrateEstimate).
#   2. Simulcast (?simulcast: sendEncodings q /4, h /2, f full size) on one video section: the
#      demo sees frames on every rid Firefox sends and sends the widest back; Firefox decodes
#      >= 30 frames of it. Before the Peer sent transport-cc feedback, Firefox with its default
#      prefs sent q and h only (its estimate stayed low and its allocator left f off); now it
#      sends all three.
#   3. As 2 in a second Firefox whose estimate has a 2 Mbit/s floor
#      (media.peerconnection.video.min_bitrate_estimate): all three layers must arrive.
. "$(dirname "$0")/../lib.sh"

section "demo: a video call with Firefox"
need_firefox

cd "$ROOT"
cargo build -q --release -p peerless --example demo
DEMO="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/demo"
[ -x "$DEMO" ] || { echo "demo not built at $DEMO" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
in_netns sh -c 'ip route add default dev lo src 127.0.0.1 && exec timeout 300 node "$@"' sh "$ROOT/scripts/interop/peers/demo-media-firefox.mjs" "$DEMO" "$NPM_DIR" "$WORK"
