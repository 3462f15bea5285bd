#!/usr/bin/env bash
# The send side against aiortc (an independent Python implementation): aiortc wraps RTP
# packets as RTX (aiortc.rtp.wrap_rtx, the function its RTCRtpSender answers NACKs with, RTX
# sequence numbers counted up from a first one as its sender does), and our SendHistory must
# write the same bytes for the same NACKs. The packets carry CSRCs and header extensions (mid,
# abs-send-time, transport-wide sequence number), payload types with their apt mapping, and
# both marker values. No network is involved.
#
# The generated answers must equal the checked-in rtp/tests/data/rtx_aiortc.txt (same seed),
# and `cargo test --test retransmission` runs against the fresh file too.
# RTP_SEND_REGENERATE=1 rewrites the checked-in file instead of comparing.
. "$(dirname "$0")/../lib.sh"

section "rtp: RTX (RFC 4588) known answers from aiortc"
need_pip aiortc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT"
fresh="$(mktemp)"
trap 'rm -f "$fresh"' EXIT
"$VENV/bin/python" - "$fresh" <<'PY'
import random, sys
from aiortc.rtp import RtpPacket, HeaderExtensionsMap, wrap_rtx
from aiortc.rtcrtpparameters import RTCRtpParameters, RTCRtpHeaderExtensionParameters

rng = random.Random(14_4588)
xmap = HeaderExtensionsMap()
xmap.configure(RTCRtpParameters(headerExtensions=[
    RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
    RTCRtpHeaderExtensionParameters(id=2, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
    RTCRtpHeaderExtensionParameters(id=3, uri="http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"),
]))
apt = {96: 97, 98: 99, 100: 101, 111: 112}
with open(sys.argv[1], "w") as out:
    out.write("# rtx_ssrc rtx_pt first_rtx_seq original_hex rtx_hex (aiortc wrap_rtx; see scripts/interop/rtp-send.sh)\n")
    for case in range(64):
        rtx_ssrc = rng.getrandbits(32)
        rtx_seq = rng.choice([0, 65535, rng.getrandbits(16)])
        pt = rng.choice(list(apt))
        p = RtpPacket(payload_type=pt, marker=rng.getrandbits(1), sequence_number=rng.getrandbits(16),
                      timestamp=rng.getrandbits(32), ssrc=rng.getrandbits(32),
                      payload=bytes(rng.getrandbits(8) for _ in range(rng.choice([1, 7, 100, 1188]))))
        p.csrc = [rng.getrandbits(32) for _ in range(rng.randrange(0, 4))]
        if rng.random() < 0.6:
            p.extensions.mid = rng.choice(["0", "1", "video"])
            p.extensions.abs_send_time = rng.getrandbits(24)
            p.extensions.transport_sequence_number = rng.getrandbits(16)
        original = p.serialize(xmap)
        # Parse back as a receiver would, then wrap as aiortc's sender does.
        rtx = wrap_rtx(RtpPacket.parse(original, xmap), payload_type=apt[pt], sequence_number=rtx_seq, ssrc=rtx_ssrc)
        out.write(f"{rtx_ssrc} {apt[pt]} {rtx_seq} {original.hex()} {rtx.serialize(xmap).hex()}\n")
PY
checked_in=rtp/tests/data/rtx_aiortc.txt
if [ "${RTP_SEND_REGENERATE:-0}" = 1 ]; then
    cp "$fresh" "$checked_in"
    echo "ok - regenerated $checked_in"
fi
if cmp -s "$fresh" "$checked_in"; then
    echo "ok - aiortc's RTX answers equal the checked-in $checked_in"
else
    echo "FAIL - aiortc's RTX answers differ from $checked_in"; exit 1
fi
if RTX_KNOWN_ANSWERS="$fresh" cargo test -q -p peerless-rtp --test retransmission rtx_matches_aiortc >/dev/null 2>&1; then
    echo "ok - SendHistory writes aiortc's RTX bytes for all $(grep -vc '^#' "$fresh") packets"
else
    echo "FAIL - SendHistory's RTX differs from aiortc's (cargo test -p peerless-rtp --test retransmission)"; exit 1
fi
