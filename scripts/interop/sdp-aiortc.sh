#!/usr/bin/env bash
# SDP interop with aiortc, an independent WebRTC stack (PyPI), in a loopback-only namespace:
#   1. aiortc creates offers (data channel; audio + video + data channel), our sdp_peer
#      example answers them, and aiortc's setRemoteDescription must accept each answer;
#   2. sdp_peer makes offers, aiortc's setRemoteDescription + createAnswer must accept them,
#      and our parser must read aiortc's answers with everything the Peer needs.
# Signalling only: no media or data flows (that is the Peer's interop test).
. "$(dirname "$0")/../lib.sh"

section "sdp: interop with aiortc"
need_pip aiortc

cd "$ROOT"
cargo build -q -p peerless-sdp --example sdp_peer
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/examples/sdp_peer"
[ -x "$BIN" ] || { echo "sdp_peer not built at $BIN" >&2; exit 1; }

in_netns "$VENV/bin/python" "$ROOT/scripts/interop/peers/sdp-aiortc.py" "$BIN"
