#!/usr/bin/env bash
# rtp's payload formats for Opus, G.711, G.722, telephone-event, VP8 and VP9 against GStreamer
# and ffmpeg (independent implementations). Files only, but for ffmpeg's RTP, which goes over
# loopback in a fresh network namespace.
#
#  1. GStreamer encodes and packetizes fresh known answers, ffmpeg's RTP muxer and aiortc's VP8
#     payloader packetize the same VP8 (and ffmpeg VP9) frames (the commands of
#     rtp/tests/data/README.md), and rtp's tests run against them (PEERLESS_RTP_DATA): our
#     payloads equal GStreamer's and aiortc's byte for byte, and GStreamer's and ffmpeg's RTP
#     depacketize to the encoder's frames.
#  2. What we depacketized from GStreamer's RTP decodes with ffmpeg without a single error.
#  3. Our own RTP (VP8 without partition labels, VP9 in flexible mode, Opus, PCMU, PCMA, G.722)
#     goes through GStreamer's depayloaders: the video and Opus decode with ffmpeg without an
#     error and with every frame, the G.711/G.722 bytes equal the encoder's.
#
# RTP_CODECA_REGENERATE=1 also copies the fresh files over rtp/tests/data.
. "$(dirname "$0")/../lib.sh"

section "rtp: payload formats (Opus, G.711, G.722, telephone-event, VP8, VP9) against GStreamer, ffmpeg and aiortc"
need_apt gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
    gstreamer1.0-plugins-bad gstreamer1.0-libav ffmpeg python3-gi gir1.2-gstreamer-1.0
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT"
data="$(mktemp -d)"
out="$(mktemp -d)"
trap 'rm -rf "$data" "$out"' EXIT
status=0
ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; status=1; }
gst() { gst-launch-1.0 -q "$@" >/dev/null || { fail "gst-launch-1.0 $*"; return 1; }; }

# 1. Fresh known answers.
gst videotestsrc num-buffers=10 pattern=smpte horizontal-speed=5 \
    ! video/x-raw,width=320,height=240,framerate=30/1 \
    ! vp8enc token-partitions=2 keyframe-max-dist=5 target-bitrate=1500000 deadline=1 \
    ! avmux_ivf ! filesink location="$data/vp8_gst.ivf"
gst filesrc location="$data/vp8_gst.ivf" ! ivfparse \
    ! rtpvp8pay mtu=500 picture-id-mode=15-bit picture-id-offset=32760 seqnum-offset=0 timestamp-offset=0 ssrc=1 \
    ! rtpstreampay ! filesink location="$data/vp8_gst.rtp"
gst videotestsrc num-buffers=10 pattern=smpte horizontal-speed=5 \
    ! video/x-raw,width=320,height=240,framerate=30/1 \
    ! vp9enc keyframe-max-dist=5 target-bitrate=1200000 deadline=1 cpu-used=8 \
    ! avmux_ivf ! filesink location="$data/vp9_gst.ivf"
gst filesrc location="$data/vp9_gst.ivf" ! ivfparse \
    ! rtpvp9pay mtu=500 picture-id-mode=15-bit seqnum-offset=0 timestamp-offset=0 ssrc=1 \
    ! rtpstreampay ! filesink location="$data/vp9_gst.rtp"
gst audiotestsrc num-buffers=60 wave=ticks samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=1 \
    ! opusenc dtx=true audio-type=voice bitrate=24000 frame-size=20 \
    ! oggmux ! filesink location="$data/opus_gst.ogg"
gst filesrc location="$data/opus_gst.ogg" ! oggdemux ! opusparse \
    ! rtpopuspay pt=111 seqnum-offset=0 timestamp-offset=0 ssrc=1 \
    ! rtpstreampay ! filesink location="$data/opus_gst.rtp"
for c in "pcmu mulawenc rtppcmupay 8000" "pcma alawenc rtppcmapay 8000" "g722 avenc_g722 rtpg722pay 16000"; do
    set -- $c
    gst audiotestsrc num-buffers=5 samplesperbuffer=$(($4 / 10)) wave=sine freq=440 \
        ! audio/x-raw,rate="$4",channels=1 ! "$2" ! tee name=t \
        t. ! queue ! filesink location="$data/${1}_gst.$1" \
        t. ! queue ! "$3" min-ptime=20000000 max-ptime=20000000 seqnum-offset=0 timestamp-offset=0 ssrc=1 \
        ! rtpstreampay ! filesink location="$data/${1}_gst.rtp"
done
/usr/bin/python3 scripts/interop/rtp/dtmf_gst.py "$data/dtmf_gst.rtp" || fail "rtpdtmfsrc"
# ffmpeg's own RTP packetizers on the same frames, over loopback in a fresh network namespace.
ffmpeg_rtp() { # CODEC PAYLOAD_TYPE PORT [ffmpeg options]
    local codec="$1" pt="$2" port="$3"; shift 3
    in_netns sh -c '
        script="$1" port="$2" file="$3" ivf="$4" pt="$5"; shift 5
        python3 "$script" "$port" "$file" & capture=$!
        sleep 0.5
        ffmpeg -nostdin -v error -re -i "$ivf" -c copy -f rtp -payload_type "$pt" -ssrc 1 "$@" "rtp://127.0.0.1:$port?pkt_size=500" >/dev/null
        wait $capture' sh scripts/interop/rtp/udp_capture.py "$port" "$data/${codec}_ffmpeg.rtp" \
        "$data/${codec}_gst.ivf" "$pt" "$@" || fail "ffmpeg's $codec RTP"
}
ffmpeg_rtp vp8 96 5004
ffmpeg_rtp vp9 98 5006 -strict experimental
# aiortc's VP8 payloader and descriptor writer on the same frames.
need_pip aiortc
"$VENV/bin/python" scripts/interop/rtp/vp8_aiortc.py "$data/vp8_gst.ivf" >"$data/vp8_aiortc.txt" || fail "aiortc's VP8 payloader"
for f in "$data"/*; do
    [ -s "$f" ] || fail "nothing was written to $(basename "$f")"
done

if PEERLESS_RTP_DATA="$data" PEERLESS_RTP_OUT="$out" cargo test -q -p peerless-rtp \
    --test vp8 --test vp9 --test opus --test g711_g722 --test telephone_event >"$out/test.log" 2>&1; then
    ok "rtp's VP8, VP9, Opus, G.711, G.722 and telephone-event tests pass on GStreamer's, ffmpeg's and aiortc's fresh output"
else
    tail -40 "$out/test.log"; fail "rtp's payload-format tests on GStreamer's, ffmpeg's and aiortc's fresh output"
fi

# decode FILE EXPECTED_FRAMES [ffmpeg input options]: no error from ffmpeg, and every frame.
decode() {
    local file="$1" expected="$2"; shift 2
    local errors frames
    errors="$(ffmpeg -nostdin -v error "$@" -i "$file" -f null - 2>&1)" || errors="ffmpeg failed: $errors"
    frames="$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$@" "$file" 2>&1)" || true
    if [ -z "$errors" ] && [ "$frames" = "$expected" ]; then
        ok "ffmpeg decodes $(basename "$file"): $frames frames, no error"
    else
        fail "ffmpeg on $(basename "$file"): $frames frames (want $expected); $errors"
    fi
}

# 2. What we depacketized from GStreamer's RTP (the tests also checked it equals the encoder's).
decode "$out/vp8_from_gst.ivf" 10
decode "$out/vp9_from_gst.ivf" 10
decode "$out/opus_from_gst.ogg" 61
# Raw audio: ffmpeg's own block count, the same as for the encoder's file.
frames_of() { ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$@" || echo none; }
decode "$out/pcmu_from_gst.pcmu" "$(frames_of -f mulaw -ar 8000 -ac 1 "$data/pcmu_gst.pcmu")" -f mulaw -ar 8000 -ac 1
decode "$out/pcma_from_gst.pcma" "$(frames_of -f alaw -ar 8000 -ac 1 "$data/pcma_gst.pcma")" -f alaw -ar 8000 -ac 1
decode "$out/g722_from_gst.g722" "$(frames_of -f g722 "$data/g722_gst.g722")" -f g722

# 3. Our RTP through GStreamer's depayloaders.
depay() { # NAME CAPS DEPAY... : our NAME_ours.rtp through rtpstreamdepay and DEPAY into $out/NAME_ours_depay
    local name="$1" caps="$2"; shift 2
    gst filesrc location="$out/${name}_ours.rtp" ! "application/x-rtp-stream,$caps" ! rtpstreamdepay \
        ! "$@" ! filesink location="$out/${name}_ours_depay"
}
depay vp8 "media=video,clock-rate=90000,encoding-name=VP8,payload=96" rtpvp8depay ! avmux_ivf
decode "$out/vp8_ours_depay" 10
depay vp9 "media=video,clock-rate=90000,encoding-name=VP9,payload=98" rtpvp9depay ! avmux_ivf
decode "$out/vp9_ours_depay" 10
depay opus "media=audio,clock-rate=48000,encoding-name=OPUS,payload=111" rtpopusdepay ! opusparse ! oggmux
decode "$out/opus_ours_depay" 61
for c in "pcmu PCMU 0 rtppcmudepay" "pcma PCMA 8 rtppcmadepay" "g722 G722 9 rtpg722depay"; do
    set -- $c
    depay "$1" "media=audio,clock-rate=8000,encoding-name=$2,payload=$3" "$4"
    if cmp -s "$out/${1}_ours_depay" "$data/${1}_gst.$1"; then
        ok "GStreamer's $4 gives back the encoder's $2 bytes from our RTP"
    else
        fail "GStreamer's $4 on our RTP differs from the encoder's $2 bytes"
    fi
done

if [ "${RTP_CODECA_REGENERATE:-0}" = 1 ]; then
    cp "$data"/* rtp/tests/data/
    ok "regenerated rtp/tests/data (commit the files if they changed)"
fi
exit $status
