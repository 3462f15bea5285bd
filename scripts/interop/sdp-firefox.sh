#!/usr/bin/env bash
# SDP interop with a real browser: Firefox ESR (Debian) driven by puppeteer-core, in a
# loopback-only namespace.
#   1. Firefox creates offers (data channel; audio + video + data channel), our sdp_peer
#      example answers them, and Firefox's setRemoteDescription must accept each answer with
#      the directions we negotiated;
#   2. sdp_peer makes offers, Firefox's setRemoteDescription + createAnswer must accept them,
#      and our parser and jsep::check_answer must accept Firefox's answers.
# Signalling only: no media or data flows (that is the Peer's interop test).
. "$(dirname "$0")/../lib.sh"

section "sdp: interop with Firefox"
need_firefox

cd "$ROOT"
cargo build -q -p peerless-sdp --example sdp_peer
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/examples/sdp_peer"
[ -x "$BIN" ] || { echo "sdp_peer not built at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
in_netns node "$ROOT/scripts/interop/peers/sdp-firefox.mjs" "$BIN" "$NPM_DIR" "$WORK"
