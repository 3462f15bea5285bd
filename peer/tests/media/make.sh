#!/usr/bin/env bash
# Regenerates the test clips in this directory from ffmpeg's test sources (README.md lists
# each command and what ffprobe says of the result). Needs ffmpeg with libvpx, libaom, libx264,
# libx265 and libopus: Debian 12's `apt-get install ffmpeg` has them all. Encoders are not
# bit-exact across versions, so a regenerated clip differs in bytes; the frame counts in
# peer/tests/media_files.rs must still hold.
set -euo pipefail
cd "$(dirname "$0")"
ff() { ffmpeg -nostdin -v error -y "$@"; }
video="testsrc=size=320x240:rate=30"

ff -f lavfi -i "$video" -t 2 -pix_fmt yuv420p -c:v libvpx -b:v 100k -g 30 \
    -deadline realtime -cpu-used 8 -threads 1 clip.vp8.ivf
ff -f lavfi -i "$video" -t 2 -pix_fmt yuv420p -c:v libvpx-vp9 -b:v 100k -g 30 \
    -deadline realtime -cpu-used 8 -threads 1 clip.vp9.ivf
ff -f lavfi -i "$video" -t 2 -pix_fmt yuv420p -c:v libaom-av1 -b:v 100k -g 30 \
    -usage realtime -cpu-used 8 -threads 1 clip.av1.ivf
ff -f lavfi -i "$video" -t 2 -pix_fmt yuv420p -c:v libx264 -profile:v baseline -level 3.1 \
    -b:v 150k -x264-params keyint=30 -bsf:v h264_mp4toannexb -f h264 clip.h264
ff -f lavfi -i "$video" -t 2 -pix_fmt yuv420p -c:v libx265 -b:v 150k \
    -x265-params keyint=30:min-keyint=30:bframes=0:log-level=error -f hevc clip.h265
ff -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 2 -c:a libopus -b:a 32k \
    -frame_duration 20 -fflags +bitexact tone.opus
ff -f lavfi -i "sine=frequency=440:sample_rate=8000" -t 2 -f mulaw -ar 8000 -ac 1 tone.ulaw
ff -f lavfi -i "sine=frequency=440:sample_rate=8000" -t 2 -f alaw -ar 8000 -ac 1 tone.alaw
# A three-rendition ladder of the VP8 clip for --video-ladder (peer/tests/media_ladder.rs):
# constant bitrate, keyframes forced on frames 0 and 30 in each, so a sender can switch at
# either. make-ladder.sh makes the larger ladders the interop scripts use.
for kbps in 60 120 240; do
    ff -f lavfi -i "$video" -t 2 -pix_fmt yuv420p -c:v libvpx -b:v "${kbps}k" -minrate "${kbps}k" \
        -maxrate "${kbps}k" -bufsize "$((kbps / 2))k" -g 30 -keyint_min 30 \
        -force_key_frames 'expr:eq(mod(n,30),0)' -auto-alt-ref 0 -deadline realtime -cpu-used 8 \
        -threads 1 -qmin 2 -qmax 56 -fflags +bitexact "ladder-${kbps}k.vp8.ivf"
done
