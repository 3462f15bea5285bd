"""RTP packets with typed header extensions written by aiortc (aiortc.rtp.HeaderExtensionsMap:
mid, rid, repaired-rid, abs-send-time, audio level, transport-wide sequence number), as known
answers for peerless-rtp's typed extensions (rtp/tests/extension.rs).

Usage: python hdrext_aiortc.py > rtp/tests/data/hdrext_aiortc.txt   (a venv with aiortc)

One line per packet: the packet's hex, then the ids' form ("one": ids 1-6, "two": ids 17-22,
which need RFC 8285's two-byte form) and the values set, "-" for one left out:
  HEX FORM MID RID REPAIRED_RID ABS_SEND_TIME VOICE LEVEL TRANSPORT_SEQ
The seed is fixed, so the file is the same on every run with the same aiortc.
"""
import random

from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap, RtpPacket

URIS = [
    "urn:ietf:params:rtp-hdrext:sdes:mid",
    "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
]
ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"


def ext_map(first_id):
    m = HeaderExtensionsMap()
    m.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=first_id + i, uri=u) for i, u in enumerate(URIS)
            ]
        )
    )
    return m


def text(rng):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 16)))


rng = random.Random(20261207)
maps = {"one": ext_map(1), "two": ext_map(17)}
for i in range(64):
    form = "one" if i % 2 == 0 else "two"
    maybe = lambda make: make() if rng.random() < 0.7 else None  # noqa: E731
    values = HeaderExtensions()
    values.mid = maybe(lambda: text(rng))
    values.rtp_stream_id = maybe(lambda: text(rng))
    values.repaired_rtp_stream_id = maybe(lambda: text(rng))
    values.abs_send_time = maybe(lambda: rng.randrange(1 << 24))
    values.audio_level = maybe(lambda: (rng.random() < 0.5, rng.randrange(128)))
    values.transport_sequence_number = maybe(lambda: rng.randrange(1 << 16))
    packet = RtpPacket(
        payload_type=96 + i % 8,
        marker=i % 3 == 0,
        sequence_number=rng.randrange(1 << 16),
        timestamp=rng.randrange(1 << 32),
        ssrc=rng.randrange(1 << 32),
        payload=bytes(rng.randrange(256) for _ in range(rng.randint(0, 24))),
    )
    packet.extensions = values
    data = packet.serialize(maps[form])
    show = lambda v: "-" if v is None else str(v)  # noqa: E731
    voice, level = ("-", "-") if values.audio_level is None else (int(values.audio_level[0]), values.audio_level[1])
    print(
        data.hex(), form, show(values.mid), show(values.rtp_stream_id),
        show(values.repaired_rtp_stream_id), show(values.abs_send_time), voice, level,
        show(values.transport_sequence_number),
    )
