#!/usr/bin/env bash
# The bandwidth estimator against aiortc, which has no transport-wide feedback and sends REMB
# only (from its abs-send-time estimator, aiortc/rate.py): in a lo-only namespace whose lo is
# shaped by `tc qdisc ... tbf` (RATE_KBIT, default 1000), the CLI offers a VP8 bitrate ladder
# (peer/tests/media/make-ladder.sh) and Opus with abs-send-time on every packet and goog-remb;
# aiortc answers receive-only (scripts/interop/peers/peer-aiortc-remb.py). The CLI's estimator
# starts at its default 300 kbit/s: with no transport-wide feedback, aiortc's REMB is the
# estimate (as libwebrtc follows it). Checks:
#   - aiortc's estimator read abs-send-time and computed REMBs; the last REMB our estimator
#     read is one of them (as the REMB's mantissa/exponent carries it);
#   - our target was at or under that REMB in every once-a-second sample after the first, and
#     at the end; the ladder switched renditions to follow it;
#   - aiortc decoded >= 300 of our video frames, >= 30 in every 5 s window from 10 s on (the
#     first REMBs take a few seconds); the CLI says ok.
# Prints our target, rendition, sent rate and the REMB once a second, and aiortc's REMBs.
. "$(dirname "$0")/../lib.sh"

section "peer: REMB from aiortc over a tbf-limited loopback"
need_pip aiortc
need_apt ffmpeg iproute2

cd "$ROOT"
cargo build -q --release -p peerless --example cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cli"
[ -x "$BIN" ] || { echo "cli not built at $BIN" >&2; exit 1; }

WORK="${KEEP:-$(mktemp -d)}"
mkdir -p "$WORK"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
LADDER="$("$ROOT/peer/tests/media/make-ladder.sh" "$WORK/ladder" 4 150 250 400 600 800 1000 1250 1600)"
RATE_KBIT="${RATE_KBIT:-1000}"
export RATE_KBIT
in_netns sh -c 'tc qdisc add dev lo root tbf rate "${RATE_KBIT}kbit" burst 20kb latency 300ms &&
    exec timeout 120 "$@"' sh "$VENV/bin/python" "$ROOT/scripts/interop/peers/peer-aiortc-remb.py" \
    "$BIN" "$WORK" "$LADDER" "$ROOT/peer/tests/media/tone.opus" "$RATE_KBIT"
