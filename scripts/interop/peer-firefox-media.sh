#!/usr/bin/env bash
# The Peer's media against Firefox ESR (Debian), driven by puppeteer-core, in a loopback-only
# namespace (default route on lo so Firefox gathers 127.0.0.1): our VP8 clip and Opus tone to
# Firefox and Firefox's fake camera and microphone to us, in one call with a data channel,
#   1. Firefox offering (we answer, greet, and end when Firefox closes the call), and
#   2. we offering (Firefox answers with addTrack on our sections and echoes 20 messages; we end
#      the call once we sent and received 150 frames of each kind).
# In each, Firefox's getStats must show >= 60 of our VP8 frames decoded at our clip's 320x240
# (inbound-rtp framesDecoded) and our Opus packets received; Firefox's audio sender sends
# insertDTMF("1#9") and our summary must show "dtmf":"1#9"; we must receive >= 60 frames of
# each kind, and `ffprobe -count_frames` must decode what we wrote (.ivf, .opus) without an
# error. Both sides must say ok. Logs, summaries and received files stay in $KEEP if it is set.
. "$(dirname "$0")/../lib.sh"

section "peer: media interop with Firefox"
need_firefox
need_apt ffmpeg

cd "$ROOT"
cargo build -q --release -p peerless --example cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cli"
[ -x "$BIN" ] || { echo "cli not built at $BIN" >&2; exit 1; }

WORK="${KEEP:-$(mktemp -d)}"
mkdir -p "$WORK"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
in_netns sh -c 'ip route add default dev lo src 127.0.0.1 && exec node "$@"' sh \
    "$ROOT/scripts/interop/peers/peer-firefox-media.mjs" "$BIN" "$NPM_DIR" "$WORK" "$ROOT/peer/tests/media"
