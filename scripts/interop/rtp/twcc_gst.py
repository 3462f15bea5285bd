#!/usr/bin/env python3
"""Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01)
through GStreamer 1.22's rtpsession (rtptwcc.c), an independent implementation, for
peerless-rtp's transport-cc view and builder (rtp/tests/transport_cc_gst.rs). No network:
appsrc to appsink inside one process.

  /usr/bin/python3 twcc_gst.py generate OUT
      GStreamer as the receiver: RTP packets with transport-wide sequence numbers (extension
      id 5, negotiated by the caps' extmap-5) enter rtpsession's receive side; it stamps each
      arrival with its system clock, so they are pushed in real time: 2-5 ms apart, losses
      (single, and a run of 20), a reordered pair (a negative delta) and an 80 ms pause (a
      large delta). A marker bit ends each of the two feedbacks. Writes "feedback gst HEX" for
      every transport-cc packet rtpsession sends.

  /usr/bin/python3 twcc_gst.py parse IN OUT
      GStreamer as the sender: for each "feedback KIND HEX" line of IN, a fresh rtpsession
      sends 200 packets (transport-wide sequence numbers 0-199), then receives the feedback
      (after an empty RR, as a compound) and reports what it read in its RTPTWCCPackets event.
      Writes the feedback line, then one line "packet SEQ LOST REMOTE_TS_NS" per packet
      GStreamer reports (REMOTE_TS_NS -1 when lost).
"""
import struct
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtp", "1.0")
from gi.repository import Gst, GstRtp  # noqa: E402

Gst.init(None)
TWCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
CAPS = (
    "application/x-rtp,media=audio,clock-rate=8000,encoding-name=PCMU,payload=0,"
    f"ssrc=(uint)4660,extmap-5={TWCC}"
)
SENT = 200


def rtp_packet(n, twcc_seq, marker=False):
    buf = GstRtp.rtp_buffer_new_allocate(160, 0, 0)
    ok, rtp = GstRtp.RTPBuffer.map(buf, Gst.MapFlags.WRITE)
    rtp.set_ssrc(0x1234)
    rtp.set_seq(n)
    rtp.set_timestamp(160 * n)
    rtp.set_payload_type(0)
    rtp.set_marker(marker)
    rtp.add_extension_onebyte_header(5, struct.pack(">H", twcc_seq))
    rtp.unmap()
    buf.pts = n * 20 * Gst.MSECOND
    return buf


def transport_cc_packets(data):
    at = 0
    while at + 4 <= len(data):
        length = 4 * (struct.unpack(">H", data[at + 2 : at + 4])[0] + 1)
        if data[at + 1] == 205 and data[at] & 0x1F == 15:
            yield data[at : at + length]
        at += length


def generate(out):
    pipeline = Gst.parse_launch(
        f"appsrc name=src format=time caps={CAPS} ! session.recv_rtp_sink "
        "rtpsession name=session rtp-profile=avpf "
        "session.recv_rtp_src ! fakesink sync=false async=false "
        "session.send_rtcp_src ! appsink name=sink sync=false async=false"
    )
    src, sink = pipeline.get_by_name("src"), pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    lost = {3, 9} | set(range(30, 50))
    order = [s for s in range(0, 70) if s not in lost]
    i = order.index(60)
    order[i], order[i + 1] = order[i + 1], order[i]  # 61 arrives before 60
    second = list(range(70, 130))
    n = 0
    for batch in (order, second):
        for k, seq in enumerate(batch):
            if seq == 55:
                time.sleep(0.080)  # a pause longer than a small delta can say (63.75 ms)
            src.emit("push-buffer", rtp_packet(n, seq, marker=k == len(batch) - 1))
            n += 1
            time.sleep(0.002 + 0.001 * (k % 4))
        time.sleep(0.3)
    feedbacks = []
    for _ in range(20):
        sample = sink.emit("try-pull-sample", Gst.SECOND // 2)
        if sample is not None:
            b = sample.get_buffer()
            ok, info = b.map(Gst.MapFlags.READ)
            feedbacks.extend(transport_cc_packets(bytes(info.data)))
            b.unmap(info)
        if len(feedbacks) >= 2:
            break
    pipeline.set_state(Gst.State.NULL)
    if len(feedbacks) < 2:
        sys.exit(f"expected 2 transport-cc feedbacks from GStreamer, got {len(feedbacks)}")
    with open(out, "w") as f:
        for fb in feedbacks:
            f.write(f"feedback gst {fb.hex()}\n")


def gst_reads(feedback):
    pipeline = Gst.parse_launch(
        f"appsrc name=src format=time caps={CAPS} ! session.send_rtp_sink "
        "rtpsession name=session rtp-profile=avpf "
        "session.send_rtp_src ! fakesink sync=false async=false "
        "appsrc name=rtcp format=time caps=application/x-rtcp ! session.recv_rtcp_sink "
        "session.send_rtcp_src ! fakesink sync=false async=false"
    )
    src, rtcp = pipeline.get_by_name("src"), pipeline.get_by_name("rtcp")
    reports = []

    def probe(_pad, info):
        s = info.get_event().get_structure()
        if s is not None and s.get_name() == "RTPTWCCPackets":
            reports.append(s)
        return Gst.PadProbeReturn.OK

    src.get_static_pad("src").add_probe(Gst.PadProbeType.EVENT_UPSTREAM, probe)
    pipeline.set_state(Gst.State.PLAYING)
    for n in range(SENT):
        src.emit("push-buffer", rtp_packet(n, 0))
    time.sleep(0.2)
    rr = bytes.fromhex("80c9000100005678")
    rtcp.emit("push-buffer", Gst.Buffer.new_wrapped(rr + feedback))
    for _ in range(40):
        if reports:
            break
        time.sleep(0.05)
    pipeline.set_state(Gst.State.NULL)
    if len(reports) != 1:
        sys.exit(f"GStreamer did not read {feedback.hex()}")
    packets = reports[0].get_value("packets")
    out = []
    for p in packets:
        lost = p.get_value("lost")
        remote = -1 if lost else p.get_value("remote-ts")
        out.append((p.get_value("seqnum"), int(lost), remote))
    return out


def parse(inp, out):
    with open(inp) as f, open(out, "w") as o:
        for line in f:
            if not line.startswith("feedback "):
                continue
            _, kind, hexa = line.split()
            o.write(line)
            for seq, lost, remote in gst_reads(bytes.fromhex(hexa)):
                o.write(f"packet {seq} {lost} {remote}\n")


if sys.argv[1] == "generate":
    generate(sys.argv[2])
else:
    parse(sys.argv[2], sys.argv[3])
