#!/usr/bin/env bash
# The send side against independent implementations. First aiortc (Python): it wraps RTP
# packets as RTX (aiortc.rtp.wrap_rtx, the function its RTCRtpSender answers NACKs with, RTX
# sequence numbers counted up from a first one as its sender does), and our SendHistory must
# write the same bytes for the same NACKs. The packets carry CSRCs and header extensions (mid,
# abs-send-time, transport-wide sequence number), padding (which RTX leaves behind), payload
# types with their apt mapping, and both marker values. No network is involved.
#
# Second, the RTCP interval: RFC 3550 A.7's rtcp_interval() written in C with doubles (as the
# RFC gives it, the random draw passed in) computes intervals for a grid of members, senders,
# bandwidths, sizes and draws; our integer version must agree within 2 microseconds.
#
# The generated answers must equal the checked-in files in rtp/tests/data/ (same seeds), and
# the Rust tests run against the fresh files too. RTP_SEND_REGENERATE=1 rewrites the
# checked-in files instead of comparing.
. "$(dirname "$0")/../lib.sh"

section "rtp: send side known answers (aiortc's and GStreamer's RTX, RFC 3550 A.7's RTCP interval)"
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
                      payload=bytes(rng.getrandbits(8) for _ in range(rng.choice([1, 7, 100, 700]))))
        p.csrc = [rng.getrandbits(32) for _ in range(rng.randrange(0, 4))]
        if rng.random() < 0.6:
            p.extensions.mid = rng.choice(["0", "1", "video"])
            p.extensions.abs_send_time = rng.getrandbits(24)
            p.extensions.transport_sequence_number = rng.getrandbits(16)
        original = p.serialize(xmap)
        if rng.random() < 0.25:
            # Padding (aiortc pads with random bytes; these are fixed): P set, count last.
            pad = rng.randrange(1, 9)
            original = bytes([original[0] | 0x20]) + original[1:] + bytes(pad - 1) + bytes([pad])
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

# GStreamer's rtprtxsend answers the same kind of NACKs (GstRTPRetransmissionRequest events);
# its RTX sequence numbers start at random, so each line carries the one it used and the
# comparison is the Rust test run on the fresh file.
need_apt gstreamer1.0-tools gstreamer1.0-plugins-good python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
gst_fresh="$(mktemp)"
# GStreamer 1.22's rtprtxsend prints a GStreamer-RTP-CRITICAL (gst_rtp_buffer_unmap) for some
# padded packets yet writes the right RTX; its stderr goes to a log shown only on failure.
gst_log="$(mktemp)"
if ! /usr/bin/python3 - "$gst_fresh" 2>"$gst_log" <<'PY'
import random, struct, sys
import gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst
Gst.init(None)
SSRC, RTX_SSRC = 0x12345678, 0x0BADCAFE
pipe = Gst.parse_launch(
    'appsrc name=src is-live=true format=time caps="application/x-rtp,media=video,clock-rate=90000,'
    'encoding-name=VP8,payload=96,ssrc=(uint)%d" ! rtprtxsend name=rtx max-size-packets=200 '
    '! appsink name=sink sync=false' % SSRC)
rtx = pipe.get_by_name("rtx")
rtx.set_property("payload-type-map", Gst.Structure.new_from_string("application/x-rtp-pt-map, 96=(uint)97"))
rtx.set_property("ssrc-map", Gst.Structure.new_from_string(
    "application/x-rtp-ssrc-map, %d=(uint)%d" % (SSRC, RTX_SSRC)))
src, sink = pipe.get_by_name("src"), pipe.get_by_name("sink")
pipe.set_state(Gst.State.PLAYING)
rng = random.Random(4588)
sent = {}
for k in range(120):
    seq = (65500 + k) & 0xFFFF
    csrcs = [rng.getrandbits(32) for _ in range(rng.choice([0, 0, 1, 3]))]
    ext = b""
    if rng.random() < 0.5:  # one-byte header extensions: id 1 (2 bytes), id 3 (3 bytes), padded
        ext = struct.pack("!HH", 0xBEDE, 2) + bytes([0x11, rng.getrandbits(8), rng.getrandbits(8), 0x32]) + bytes(rng.getrandbits(8) for _ in range(3)) + b"\0"
    first = 0x80 | (0x10 if ext else 0) | len(csrcs)
    header = struct.pack("!BBHII", first, (0x80 if k % 5 == 4 else 0) | 96, seq, 1000 + 3000 * (k // 5), SSRC)
    header += b"".join(struct.pack("!I", c) for c in csrcs) + ext
    pkt = header + bytes(rng.getrandbits(8) for _ in range(rng.choice([1, 50, 400, 1100])))
    if rng.random() < 0.2:
        pad = rng.randrange(1, 9)
        pkt = bytes([pkt[0] | 0x20]) + pkt[1:] + bytes(pad - 1) + bytes([pad])
    buf = Gst.Buffer.new_wrapped(pkt)
    buf.pts = k * 10_000_000
    src.emit("push-buffer", buf)
    assert sink.emit("try-pull-sample", Gst.SECOND) is not None
    sent[seq] = pkt
with open(sys.argv[1], "w") as out:
    out.write("# rtx_ssrc rtx_pt rtx_seq original_hex rtx_hex (GStreamer rtprtxsend; see scripts/interop/rtp-send.sh)\n")
    for seq in rng.sample(sorted(sent), 48):
        event = Gst.Event.new_custom(Gst.EventType.CUSTOM_UPSTREAM, Gst.Structure.new_from_string(
            "GstRTPRetransmissionRequest, seqnum=(uint)%d, ssrc=(uint)%d" % (seq, SSRC)))
        sink.send_event(event)
        sample = sink.emit("try-pull-sample", Gst.SECOND)
        assert sample is not None, "no RTX for %d" % seq
        buffer = sample.get_buffer()
        data = buffer.extract_dup(0, buffer.get_size())
        out.write("%d 97 %d %s %s\n" % (RTX_SSRC, struct.unpack_from("!H", data, 2)[0], sent[seq].hex(), data.hex()))
pipe.set_state(Gst.State.NULL)
PY
then
    cat "$gst_log"; echo "FAIL - GStreamer rtprtxsend did not answer every request"; exit 1
fi
rm -f "$gst_log"
if [ "${RTP_SEND_REGENERATE:-0}" = 1 ]; then
    cp "$gst_fresh" rtp/tests/data/rtx_gstreamer.txt
    echo "ok - regenerated rtp/tests/data/rtx_gstreamer.txt"
fi
if RTX_GSTREAMER_KNOWN_ANSWERS="$gst_fresh" cargo test -q -p peerless-rtp --test retransmission rtx_matches_gstreamer >/dev/null 2>&1; then
    echo "ok - SendHistory writes GStreamer rtprtxsend's RTX bytes for all $(grep -vc '^#' "$gst_fresh") NACKed packets"
else
    echo "FAIL - SendHistory's RTX differs from GStreamer rtprtxsend's (cargo test -p peerless-rtp --test retransmission)"; exit 1
fi
rm -f "$gst_fresh"

need_apt gcc
cc_dir="$(mktemp -d)"
trap 'rm -f "$fresh"; rm -rf "$cc_dir"' EXIT
cat >"$cc_dir/interval.c" <<'C'
/* RFC 3550 A.7's interval, in double precision, with the uniform draw as an argument. */
#include <stdio.h>
static double rtcp_interval(int members, int senders, double rtcp_bw, int we_sent,
                            double avg_rtcp_size, int initial, double min_time, double draw) {
    double const sender_fraction = 0.25, receiver_fraction = 1.0 - sender_fraction;
    double const compensation = 2.71828 - 1.5;
    double t, rtcp_min_time = initial ? min_time / 2 : min_time;
    int n = members;
    if (senders <= members * sender_fraction) {
        if (we_sent) { rtcp_bw *= sender_fraction; n = senders; }
        else { rtcp_bw *= receiver_fraction; n -= senders; }
    }
    t = avg_rtcp_size * n / rtcp_bw;
    if (t < rtcp_min_time) t = rtcp_min_time;
    t = t * (draw + 0.5);
    return t / compensation;
}
int main(void) {
    int const members[] = {1, 2, 3, 8, 40};
    int const bws[] = {50, 400, 6250, 125000};
    int const sizes[] = {60, 128, 1200};
    int const mins_ms[] = {5000, 0, 144};
    unsigned draws[] = {0, 250000, 999999};
    printf("# members senders rtcp_bytes_per_s we_sent avg_size initial min_us draw_millionths interval_us (RFC 3550 A.7 in C; scripts/interop/rtp-send.sh)\n");
    for (unsigned a = 0; a < sizeof members / sizeof *members; a++)
    for (int s = 0; s <= members[a] && s <= 3; s++)
    for (unsigned b = 0; b < sizeof bws / sizeof *bws; b++)
    for (int we = 0; we <= (s > 0); we++)
    for (unsigned z = 0; z < sizeof sizes / sizeof *sizes; z++)
    for (int init = 0; init <= 1; init++)
    for (unsigned m = 0; m < sizeof mins_ms / sizeof *mins_ms; m++)
    for (unsigned d = 0; d < sizeof draws / sizeof *draws; d++) {
        if ((a * 5 + s * 3 + b * 2 + z * 7 + init + m * 11 + d * 13) % 7 != 0) continue; /* a seventh of the grid keeps the file small */
        double t = rtcp_interval(members[a], s, bws[b], we, sizes[z], init, mins_ms[m] / 1000.0, draws[d] / 1e6);
        printf("%d %d %d %d %d %d %d %u %.3f\n", members[a], s, bws[b], we, sizes[z], init,
               mins_ms[m] * 1000, draws[d], t * 1e6);
    }
    return 0;
}
C
gcc -O2 -o "$cc_dir/interval" "$cc_dir/interval.c"
"$cc_dir/interval" >"$cc_dir/interval.txt"
interval_checked_in=rtp/tests/data/rtcp_interval_rfc3550.txt
if [ "${RTP_SEND_REGENERATE:-0}" = 1 ]; then
    cp "$cc_dir/interval.txt" "$interval_checked_in"
    echo "ok - regenerated $interval_checked_in"
fi
if cmp -s "$cc_dir/interval.txt" "$interval_checked_in"; then
    echo "ok - RFC 3550 A.7 in C gives the checked-in $interval_checked_in"
else
    echo "FAIL - RFC 3550 A.7 in C differs from $interval_checked_in"; exit 1
fi
if RTCP_INTERVAL_KNOWN_ANSWERS="$cc_dir/interval.txt" cargo test -q -p peerless-rtp --test rtcp_schedule interval_matches_rfc3550_a7 >/dev/null 2>&1; then
    echo "ok - the schedule's intervals equal RFC 3550 A.7's for all $(grep -vc '^#' "$cc_dir/interval.txt") inputs"
else
    echo "FAIL - the schedule's intervals differ from RFC 3550 A.7's (cargo test -p peerless-rtp --test rtcp_schedule)"; exit 1
fi

if RTX_KNOWN_ANSWERS="$fresh" cargo test -q -p peerless-rtp --test retransmission rtx_matches_aiortc >/dev/null 2>&1; then
    echo "ok - SendHistory writes aiortc's RTX bytes for all $(grep -vc '^#' "$fresh") packets"
else
    echo "FAIL - SendHistory's RTX differs from aiortc's (cargo test -p peerless-rtp --test retransmission)"; exit 1
fi
