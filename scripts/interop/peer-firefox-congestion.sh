#!/usr/bin/env bash
# The bandwidth estimator against Firefox ESR over a bandwidth-limited loopback: in a lo-only
# namespace whose lo is shaped by `tc qdisc ... tbf` (RATE_KBIT, default 1000; netem is not
# available here), the CLI offers a VP8 bitrate ladder (peer/tests/media/make-ladder.sh: one
# clip at 150 to 1600 kbit/s, keyframes on the same frames) and Opus; Firefox answers receive-only
# and sends transport-wide feedback. The CLI switches rendition at keyframes to follow its
# target (--video-ladder). Checks:
#   - Firefox negotiated transport-cc and decoded our VP8, and its framesDecoded keeps growing
#     through the end (every 5 s window of the call adds frames, the last included);
#   - the target came out of its 300 kbit/s start, and converged under the limit: over the last
#     15 s its median is under the limit and above a quarter of it, and the video we sent averaged
#     under the limit there;
#   - the ladder switched renditions, and the CLI says ok.
# Prints the target, rendition and sent rate once a second, and Firefox's counts. Logs and
# summaries stay in $KEEP if it is set. Two calls by default (OFFERS=both): the CLI offers, then
# Firefox offers receive-only audio and video (audio first, the transport-wide number agreed on
# video only) and the CLI answers; OFFERS=cli or OFFERS=firefox runs one.
. "$(dirname "$0")/../lib.sh"

section "peer: congestion control with Firefox over a tbf-limited loopback"
need_firefox
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
# The top rendition must not fit under the limit: a sender that cannot exceed it is
# application-limited, and its target may float above the limit (1.5 x what is acknowledged).
[ "$RATE_KBIT" -le 1300 ] || { echo "RATE_KBIT must be <= 1300 (the ladder tops at 1600)" >&2; exit 2; }
# The queue holds 300 ms at the limit: a keyframe of the top rendition fits without a tail drop,
# and a sender above the limit sees its delay grow (what the delay-based part reacts to).
in_netns sh -c 'ip route add default dev lo src 127.0.0.1 &&
    tc qdisc add dev lo root tbf rate "${RATE_KBIT}kbit" burst 20kb latency 300ms && exec timeout 300 node "$@"' sh \
    "$ROOT/scripts/interop/peers/peer-firefox-congestion.mjs" "$BIN" "$NPM_DIR" "$WORK" \
    "$LADDER" "$ROOT/peer/tests/media/tone.opus" "$RATE_KBIT" "${OFFERS:-both}"
