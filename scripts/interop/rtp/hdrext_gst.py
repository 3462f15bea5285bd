#!/usr/bin/env python3
"""RTP packets with header extensions written by GStreamer's own rtphdrext elements, as known
answers for peerless-rtp's typed extensions (rtp/tests/extension.rs).

Usage: /usr/bin/python3 hdrext_gst.py OUT.rtp

Ten 20 ms PCMU packets (appsrc -> rtppcmupay seqnum-offset=0 timestamp-offset=0 ssrc=1) whose
payloader carries, in the one-byte form (RFC 8285 §4.2): rtphdrextmid at id 1 (mid "audio0"),
rtphdrextstreamid at id 2 (rid "hi"), rtphdrextrepairedstreamid at id 3 (rid "lo"),
rtphdrexttwcc at id 4 (its own sequence numbers) and rtphdrextclientaudiolevel at id 5 (packet
i carries level 10 + 3i, voice activity on even packets, from the GstAudioLevelMeta we put on
each buffer). GStreamer 1.22's payloader writes no two-byte form for ids above 14, so that form
is checked against aiortc instead. Packets are written RFC 4571-framed (a 16-bit length before
each), as rtpstreampay does. Nothing leaves the process: appsrc to appsink, no network.
"""
import struct
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtp", "1.0")
gi.require_version("GstAudio", "1.0")
from gi.repository import Gst, GstAudio, GstRtp  # noqa: E402,F401 (GstRtp: set_id)

Gst.init(None)
out = sys.argv[1]
COUNT = 10

pipeline = Gst.parse_launch(
    "appsrc name=src format=time caps=audio/x-mulaw,rate=8000,channels=1 "
    "! rtppcmupay name=pay min-ptime=20000000 max-ptime=20000000 seqnum-offset=0 "
    "timestamp-offset=0 ssrc=1 ! appsink name=sink sync=false"
)
pay = pipeline.get_by_name("pay")
exts = [
    ("rtphdrextmid", {"mid": "audio0"}),
    ("rtphdrextstreamid", {"rid": "hi"}),
    ("rtphdrextrepairedstreamid", {"rid": "lo"}),
    ("rtphdrexttwcc", {}),
    ("rtphdrextclientaudiolevel", {}),
]
for i, (name, props) in enumerate(exts):
    ext = Gst.ElementFactory.make(name)
    for k, v in props.items():
        ext.set_property(k, v)
    ext.set_id(1 + i)
    pay.emit("add-extension", ext)

src = pipeline.get_by_name("src")
sink = pipeline.get_by_name("sink")
pipeline.set_state(Gst.State.PLAYING)
for i in range(COUNT):
    buf = Gst.Buffer.new_wrapped(bytes((0x80 + i + k) & 0xFF for k in range(160)))
    buf.pts = i * 20 * Gst.MSECOND
    buf.duration = 20 * Gst.MSECOND
    GstAudio.buffer_add_audio_level_meta(buf, 10 + 3 * i, i % 2 == 0)
    src.emit("push-buffer", buf)
src.emit("end-of-stream")
packets = []
while len(packets) < COUNT:
    sample = sink.emit("try-pull-sample", 5 * Gst.SECOND)
    if sample is None:
        break
    buf = sample.get_buffer()
    ok, info = buf.map(Gst.MapFlags.READ)
    packets.append(bytes(info.data))
    buf.unmap(info)
pipeline.set_state(Gst.State.NULL)
if len(packets) != COUNT:
    sys.exit(f"expected {COUNT} packets, got {len(packets)}")
with open(out, "wb") as f:
    for p in packets:
        f.write(struct.pack(">H", len(p)) + p)
