#!/usr/bin/env bash
# The Peer's media against aiortc, in a loopback-only namespace: the CLI sends the committed
# clips (peer/tests/media) and records what it receives; aiortc sends its test pattern and
# silence and counts what it decodes (scripts/interop/peers/aiortc-media.py). Every case checks
# that both processes say ok, that aiortc decoded >= 60 frames of each kind we sent (and a
# 320x240 picture, our clip's), that we received >= 60 of each of its kinds, and that
# `ffprobe -count_frames` decodes the files we wrote without an error:
#   1. our offer: VP8 + Opus + data channel, aiortc answers (and echoes 100 messages);
#   2. aiortc's offer: VP8 + Opus + data, we answer sending our clips (echoes, greeting);
#   3. H.264 (clip.h264, --video-codec by the file) with Opus, each side offering;
#   4. PCMU alone (tone.ulaw, recorded as raw µ-law), each side offering; our offer without a
#      data channel (--no-data: the run ends on --min-frames);
#   5. loss: case 1 through lossy_relay.py, which drops 5 % of the datagrams each way with a
#      seeded RNG. Each side is handed the other's description with its candidates rewritten to
#      the relay's port that faces it, so ICE, DTLS, SCTP and SRTP all cross the relay. We run
#      for 150 frames; every frame we receive decodes, our summary shows NACKs sent with RTX
#      received back and aiortc's NACKs answered by RTX, and aiortc decodes >= 30 video frames
#      (it NACKs each gap once, so a lost NACK or RTX leaves frames queued behind a hole in its
#      jitter buffer until the call ends: peers/peer-aiortc-media.py says more).
# The summaries, logs, descriptions and received files of a run stay in $KEEP if it is set.
. "$(dirname "$0")/../lib.sh"

section "peer: media interop with aiortc"
need_pip aiortc
need_apt ffmpeg

cd "$ROOT"
cargo build -q --release -p peerless --example cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cli"
[ -x "$BIN" ] || { echo "cli not built at $BIN" >&2; exit 1; }

WORK="${KEEP:-$(mktemp -d)}"
mkdir -p "$WORK"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
in_netns "$VENV/bin/python" "$ROOT/scripts/interop/peers/peer-aiortc-media.py" "$BIN" \
    "$ROOT/peer/tests/media" "$WORK" "$@"
