#!/usr/bin/env bash
# peerless-rtp's AV1 payload format on libaom's frames: ffmpeg encodes 10 frames (libaom-av1,
# a keyframe every 5), rtp/tests/av1.rs packetizes each temporal unit at 1200 and 300 bytes,
# depacketizes it and checks it against the encoder's OBUs (size fields restored, a temporal
# delimiter in front, N on the keyframes), then writes the rebuilt stream as IVF; ffmpeg must
# decode all 10 frames of it without a single error. No network is involved.
# (No independent AV1 RTP packetizer is installable here: GStreamer 1.22's rtpav1pay lives in
# gst-plugins-rs, ffmpeg 5.1's RTP muxer has no AV1; bench/rtp-vs-str0m cross-checks str0m's.)
. "$(dirname "$0")/../lib.sh"

section "rtp: AV1 against libaom and ffmpeg"
need_apt ffmpeg
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ffmpeg -v error -y -f lavfi -i testsrc=size=320x240:rate=10 -frames:v 10 -c:v libaom-av1 \
    -cpu-used 8 -usage realtime -g 5 -b:v 300k -f ivf "$work/av1_aom.ivf"
cd "$ROOT"
PEERLESS_RTP_DATA="$work" PEERLESS_RTP_OUT="$work" cargo test -q -p peerless-rtp --test av1
errors="$(ffmpeg -v error -i "$work/av1_rebuilt.ivf" -f null - 2>&1)"
frames="$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$work/av1_rebuilt.ivf")"
if [ -z "$errors" ] && [ "$frames" = 10 ]; then
    echo "ok: AV1 through our packetizer and depacketizer decodes with ffmpeg, $frames frames, no error"
else
    echo "FAIL: AV1 rebuilt: $frames frames, ffmpeg said: $errors"
    exit 1
fi
