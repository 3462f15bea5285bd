#!/usr/bin/python3
"""GStreamer's rtpdtmfsrc sends DTMF digits 1, #, and D (RFC 4733 telephone-event, 8 kHz,
packet-redundancy 3) as RTP, framed as RFC 4571, into the file named by argv[1]."""
import sys
import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst, GLib  # noqa: E402

Gst.init(None)
out = sys.argv[1]
pipeline = Gst.parse_launch(
    "rtpdtmfsrc name=dtmf pt=101 clock-rate=8000 packet-redundancy=3 ssrc=1 "
    "seqnum-offset=0 timestamp-offset=0 ! rtpstreampay ! filesink location=" + out
)
dtmf = pipeline.get_by_name("dtmf")
loop = GLib.MainLoop()
steps = []
for number, volume in ((1, 10), (11, 20), (15, 36)):
    steps.append(("start", number, volume, 200))
    steps.append(("stop", number, volume, 150))
# Room for the last end packets before the end of stream.
steps[-1] = steps[-1][:3] + (500,)


def event(start, number, volume):
    s = Gst.Structure.new_empty("dtmf-event")
    s.set_value("type", 1)
    s.set_value("number", number)
    s.set_value("volume", volume)
    s.set_value("start", start)
    s.set_value("method", 1)
    return Gst.Event.new_custom(Gst.EventType.CUSTOM_UPSTREAM, s)


def next_step():
    if not steps:
        pipeline.send_event(Gst.Event.new_eos())
        return False
    kind, number, volume, wait = steps.pop(0)
    dtmf.get_static_pad("src").send_event(event(kind == "start", number, volume))
    GLib.timeout_add(wait, next_step)
    return False


bus = pipeline.get_bus()
bus.add_signal_watch()
bus.connect("message::eos", lambda *_: loop.quit())
bus.connect("message::error", lambda _b, m: (print(m.parse_error()), loop.quit()))
pipeline.set_state(Gst.State.PLAYING)
GLib.timeout_add(100, next_step)
GLib.timeout_add(5000, loop.quit)
loop.run()
pipeline.set_state(Gst.State.NULL)
