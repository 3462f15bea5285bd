#!/usr/bin/env bash
# The Peer's media against GStreamer's webrtcbin (libnice, OpenSSL DTLS, libsrtp2, usrsctp), in
# a loopback-only namespace: the CLI sends the committed clips (peer/tests/media) and records
# what it receives; scripts/interop/peers/gst-peer.py (the team's webrtcbin peer) sends
# videotestsrc's 320x240 ball and a 440 Hz tone and counts the frames it decodes. Every media
# case checks that both processes say ok, that GStreamer decoded >= 60 frames of each kind we
# sent (and a 320x240 picture, our clip's), that we received >= 60 of each of its kinds, that
# `ffprobe -count_frames` decodes the files we wrote without an error, that the data channel
# echoed every message (and our greeting arrived when we answer), and that our DTLS
# certificate matched our a=fingerprint (webrtcbin does not check it itself: gst-peer.py does):
#   1. our offer: VP8 + Opus + data channel, GStreamer answers (echoes our 100 messages);
#   2. GStreamer's offer (max-bundle: port 0 + a=bundle-only after the first section, mids
#      video0/audio1/application2), we answer;
#   3, 4. H.264 (our Annex-B clip; GStreamer's openh264 or x264) with Opus, each side offering.
#   5, 6. GStreamer's stock RSA-2048 DTLS certificate (gst-peer.py --cert rsa; the other
#      cases give it an ECDSA P-256 one), each side offering, with every check above: as the
#      DTLS client we negotiate TLS_ECDHE_RSA_* and verify its RSA ServerKeyExchange; as the
#      server we pick an ECDHE_ECDSA suite (webrtcbin's OpenSSL offers those too) and verify
#      its RSA CertificateVerify. The suite we negotiated is printed.
# The summaries, logs, descriptions and received files of a run stay in $KEEP if it is set.
. "$(dirname "$0")/../lib.sh"

section "peer: media interop with GStreamer webrtcbin"
need_apt ffmpeg openssl python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 \
    gir1.2-gst-plugins-bad-1.0 gstreamer1.0-tools gstreamer1.0-plugins-base \
    gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-nice gstreamer1.0-libav

cd "$ROOT"
cargo build -q --release -p peerless --example cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cli"
[ -x "$BIN" ] || { echo "cli not built at $BIN" >&2; exit 1; }

WORK="${KEEP:-$(mktemp -d)}"
mkdir -p "$WORK"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
in_netns /usr/bin/python3 "$ROOT/scripts/interop/peers/peer-gstreamer-media.py" "$BIN" \
    "$ROOT/peer/tests/media" "$WORK" "$@"
