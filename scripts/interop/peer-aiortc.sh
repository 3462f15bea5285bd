#!/usr/bin/env bash
# The Peer against aiortc, an independent WebRTC stack (PyPI), in a loopback-only namespace:
#   1. our offer, aiortc's answer: the CLI creates "chat", sends 100 text and binary messages
#      (one of 64 KiB), aiortc echoes each and the CLI checks every echo;
#   2. aiortc's offer, our answer: aiortc creates "chat", sends 100 text and binary messages
#      (one of 64 KiB), the CLI echoes them and greets; aiortc checks every echo and the greeting.
# In both, the channel must open on both sides and both summaries must say so.
. "$(dirname "$0")/../lib.sh"

section "peer: interop with aiortc"
need_pip aiortc

cd "$ROOT"
cargo build -q --release -p peerless --example cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cli"
[ -x "$BIN" ] || { echo "cli not built at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
in_netns "$VENV/bin/python" "$ROOT/scripts/interop/peers/peer-aiortc.py" "$BIN" "$WORK"
