#!/usr/bin/env bash
# Media from the device: the embassy application's host build (examples-embedded/embassy/host,
# feature `media`) sends its stored VP8 clip and G.711 tone to aiortc over a TAP device,
# beside the data channel, inside a fresh network namespace (as embedded-host-aiortc.sh).
#
#   aiortc (kernel, 192.0.2.1) --POST /whip: recvonly video + audio + data channel--> app
#                              <--201 answer (sendonly VP8, sendonly PCMU)----------
#                              <==SRTP: clip frames every 1/15 s, tone every 20 ms== app :5000
#
# Checks (peers/embedded-host-aiortc-media.py): aiortc decodes the video (every frame 320x240,
# each one of the clip's own pictures, compared with PyAV's decode of the committed IVF,
# consecutive RTP times 6000 apart on the 90 kHz clock, past the 4 s loop) and the audio
# (160-sample frames 160 apart on the 8 kHz clock, a 500 Hz tone), and a data-channel echo
# still works. Then Chromium (puppeteer, scripts/chromium.mjs) opens the app's own page, whose
# offer has recvonly video and audio: getStats must show 45+ VP8 frames decoded at 320x240 and
# the tone's samples, the page's video element must play, the data channel echo. Fails when
# no frame decodes.
#
# The host binary is built with `--features media` here (embedded-host-aiortc.sh runs the
# data-channel build). Requests come back to back and are never retried: the app's HTTP endpoint
# keeps a second socket listening while the last connection closes.
. "$(dirname "$0")/../lib.sh"

section "embassy application on a TAP device: media to aiortc"
need_apt iproute2 util-linux python3-venv
need_pip aiortc numpy
need_chromium

EMB="$ROOT/examples-embedded/embassy"
export CARGO_TARGET_DIR="${EMBASSY_TARGET_DIR:-$ROOT/target/embassy}"
(cd "$EMB" && cargo build -q --profile host -p peerless-embassy-host --features media)
BIN="$CARGO_TARGET_DIR/host/peerless-embassy-host"
[ -x "$BIN" ] || { echo "host application not built at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

start=$SECONDS
in_netns bash "$ROOT/scripts/interop/peers/embedded-host-aiortc-media-netns.sh" "$BIN" "$WORK" \
    "$VENV/bin/python" "$ROOT/scripts/interop/peers/embedded-host-aiortc-media.py" \
    "$EMB/app/clip/testsrc.ivf" "$NPM_DIR"
echo "embedded-host-aiortc-media: ok ($((SECONDS - start)) s)"
