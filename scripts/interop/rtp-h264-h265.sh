#!/usr/bin/env bash
# peerless-rtp's H.264 and H.265 payload formats against GStreamer's rtph264pay/rtph265pay, on
# frames ffmpeg encodes (libx264, libx265). Regenerates the known answers checked in under
# rtp/tests/data/ live, then runs rtp/tests/nal_interop.rs on them: our payloads must equal
# GStreamer's byte for byte (mtu 1212 = 1200-byte payloads, max-stap/max aggregation, SPS/PPS
# sent before an IDR that lacks them), and our depacketizer must rebuild h264parse's/h265parse's
# access units from GStreamer's RTP. The rebuilt streams must decode with ffmpeg without a
# single error. No network is involved.
#   usage: rtp-h264-h265.sh [--write-data]   (--write-data refreshes rtp/tests/data/)
. "$(dirname "$0")/../lib.sh"

section "rtp: H.264 and H.265 against GStreamer and ffmpeg"
need_apt ffmpeg gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
    gstreamer1.0-plugins-bad python3
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

# strip_params IN OUT CODEC: drops every parameter set after the first keyframe, so the
# payloader must repeat the remembered ones (H.264 only: rtph265pay repeats before IDR but not
# CRA, so it would not put them back before x265's CRA pictures).
strip_params() {
    python3 - "$@" <<'PY'
import re, sys
src, dst, codec = sys.argv[1], sys.argv[2], sys.argv[3]
d = open(src, 'rb').read()
starts = [m.start() for m in re.finditer(b'\x00\x00\x01', d)]
out, seen = b'', False
for i, p in enumerate(starts):
    unit = d[p + 3:(starts[i + 1] if i + 1 < len(starts) else len(d))].rstrip(b'\0')
    t = unit[0] & 0x1f if codec == 'h264' else (unit[0] >> 1) & 0x3f
    params, key = ((7, 8), (5,)) if codec == 'h264' else ((32, 33, 34), range(16, 22))
    if t in params and seen:
        continue
    seen |= t in key
    out += b'\0\0\0\1' + unit
open(dst, 'wb').write(out)
PY
}

# pack DIR OUT WIDTH: the files of DIR in name order, each behind its length (WIDTH bytes, BE).
pack() {
    python3 - "$@" <<'PY'
import os, sys
d, out, width = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(out, 'wb') as f:
    for name in sorted(os.listdir(d)):
        b = open(os.path.join(d, name), 'rb').read()
        f.write(len(b).to_bytes(width, 'big') + b)
PY
}

src="testsrc=size=320x240:rate=10"
ffmpeg -v error -y -f lavfi -i "$src" -frames:v 10 -c:v libx264 -preset ultrafast \
    -tune zerolatency -threads 1 -g 5 -bf 0 -f h264 raw.h264
strip_params raw.h264 h264.h264 h264
ffmpeg -v error -y -f lavfi -i "$src" -frames:v 10 -c:v libx265 -preset ultrafast \
    -x265-params keyint=5:min-keyint=5:bframes=0:log-level=error:frame-threads=1:pools=none \
    -f hevc h265.h265

# set: codec, stream, rtph26Xpay's config-interval. The repeat set has the parameter sets
# dropped after the first IDR, so both payloaders must put the remembered ones back.
for set in "h264 raw.h264 0" "h264_repeat h264.h264 -1" "h265 h265.h265 0"; do
    read -r name stream cfg <<<"$set"
    codec="${name%%_*}"
    if [ "$codec" = h264 ]; then agg=max-stap; else agg=max; fi
    mkdir -p "au-$name" "rtp-$name"
    gst-launch-1.0 -q filesrc location="$stream" ! "${codec}parse" \
        ! "video/x-$codec,stream-format=byte-stream,alignment=au" ! tee name=t \
        ! queue ! multifilesink location="au-$name/%05d" \
        t. ! queue ! "rtp${codec}pay" mtu=1212 config-interval=$cfg aggregate-mode=$agg pt=96 \
        ssrc=1 seqnum-offset=0 timestamp-offset=0 ! identity \
        ! multifilesink location="rtp-$name/%05d"
    pack "au-$name" "${name}_gst_au.bin" 4
    pack "rtp-$name" "${name}_gst_rtp.bin" 2
done

cd "$ROOT"
PEERLESS_RTP_DATA="$work" PEERLESS_RTP_OUT="$work" cargo test -q -p peerless-rtp --test nal_interop
fail=0
for name in h264 h264_repeat h265; do
    codec="${name%%_*}"
    # Written by the test: GStreamer's RTP through our depacketizer.
    rebuilt="$work/${name}_from_gst.$codec"
    errors="$(ffmpeg -v error -f "$([ $codec = h264 ] && echo h264 || echo hevc)" -i "$rebuilt" -f null - 2>&1)"
    frames="$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$rebuilt")"
    if [ -z "$errors" ] && [ "$frames" = 10 ]; then
        echo "ok: $name from GStreamer's RTP decodes with ffmpeg, $frames frames, no error"
    else
        echo "FAIL: $name from GStreamer's RTP: $frames frames, ffmpeg said: $errors"
        fail=1
    fi
done
if [ "${1:-}" = --write-data ]; then
    cp "$work"/h26*_gst_*.bin "$ROOT/rtp/tests/data/"
    echo "rtp/tests/data refreshed"
fi
exit $fail
