#!/usr/bin/env bash
# The embassy application's stored clip (examples-embedded/embassy/app/clip/testsrc.ivf):
# ffmpeg's testsrc pattern, 320x240 at 15 fps for 4 s, VP8 (libvpx) in IVF, about 80 kbit/s
# (about 41 KB). One keyframe, the first frame: the application loops the clip by starting
# it again, so the loop and a keyframe request (PLI) both land on that keyframe. No alt-ref
# frames and no lag, so every IVF frame is one frame shown (the app paces one per 1/15 s).
# Deterministic (bitexact) for a given ffmpeg/libvpx; the committed file is what CI uses,
# this script says how it was made: scripts/gen-clip.sh [OUT]
set -eu
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/examples-embedded/embassy/app/clip/testsrc.ivf}"
command -v ffmpeg >/dev/null || { echo "gen-clip: needs ffmpeg (with libvpx)" >&2; exit 1; }
ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i testsrc=size=320x240:rate=15:duration=4 \
    -c:v libvpx -b:v 80k -g 1000 -keyint_min 1000 -auto-alt-ref 0 -lag-in-frames 0 \
    -deadline good -cpu-used 4 -bitexact -fflags +bitexact \
    -f ivf "$OUT"
echo "gen-clip: $OUT $(wc -c <"$OUT") bytes"
