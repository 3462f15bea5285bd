#!/usr/bin/env bash
# Makes a bitrate ladder for the command-line peer's `--video-ladder`: the same 320x240 VP8
# clip (ffmpeg's testsrc2 with a little temporal noise, so that the encoder can spend every
# bitrate asked of it) encoded at several constant bitrates, with keyframes forced on the same
# frames (every 30th) so that the sender can switch from one to another at any keyframe.
#   make-ladder.sh OUTDIR [SECONDS] [KBPS...]   (defaults: 4 s; 150 250 400 600 900 1300 1900)
# Prints the files, comma-separated, ready for `--video-ladder`. Not committed (about 3 MB
# with the defaults): the interop scripts make it in their work directory, in about 20 s.
set -euo pipefail
out="$1"
seconds="${2:-4}"
shift $(( $# > 2 ? 2 : $# ))
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(150 250 400 600 900 1300 1900)
mkdir -p "$out"
files=()
for kbps in "${rates[@]}"; do
    f="$out/ladder-${kbps}k.vp8.ivf"
    [ -s "$f" ] || ffmpeg -nostdin -v error -y \
        -f lavfi -i "testsrc2=size=320x240:rate=30,noise=alls=6:allf=t" -t "$seconds" \
        -pix_fmt yuv420p -c:v libvpx -b:v "${kbps}k" -minrate "${kbps}k" -maxrate "${kbps}k" \
        -bufsize "$((kbps / 2))k" -g 30 -keyint_min 30 -force_key_frames 'expr:eq(mod(n,30),0)' \
        -auto-alt-ref 0 -deadline realtime -cpu-used 8 -threads 1 -qmin 2 -qmax 56 "$f"
    files+=("$f")
done
(IFS=,; echo "${files[*]}")
