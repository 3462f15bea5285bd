#!/usr/bin/env bash
# RTP/RTCP wire interop with aiortc (an independent Python implementation): packets our
# emitters write are parsed by aiortc, packets aiortc writes are parsed by ours, and every
# field must agree (RTP header, CSRCs, one- and two-byte header extensions (the extension
# block byte for byte), payload, padding; RTCP SR, RR, SDES, BYE, NACK, PLI, FIR, REMB).
# No network is involved. RTP_WIRE_PACKETS (default 300 each way) sets the count.
. "$(dirname "$0")/../lib.sh"

section "rtp: RTP/RTCP wire interop with aiortc"
need_pip aiortc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT"
cargo build -q -p peerless-rtp --example wire_peer
"$VENV/bin/python" - "$CARGO_TARGET_DIR/debug/examples/wire_peer" "${RTP_WIRE_PACKETS:-300}" <<'PY'
import random, struct, subprocess, sys
from aiortc.rtp import (RtpPacket, RtcpPacket, RtcpSrPacket, RtcpRrPacket, RtcpSdesPacket,
    RtcpByePacket, RtcpRtpfbPacket, RtcpPsfbPacket, RtcpSenderInfo, RtcpReceiverInfo,
    RtcpSourceInfo, HeaderExtensionsMap, pack_header_extensions, unpack_header_extensions,
    pack_remb_fci, unpack_remb_fci)
from aiortc.rtcrtpparameters import RTCRtpParameters, RTCRtpHeaderExtensionParameters

peer = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
count = int(sys.argv[2])
rng = random.Random(20240517)

def ask(line):
    peer.stdin.write(line + "\n"); peer.stdin.flush()
    return peer.stdout.readline().strip()

def hx(b): return b.hex() if b else "-"
def lst(items): return ",".join(str(i) for i in items) if items else "-"

def extension_block(data):
    """The raw (profile, value) of an RTP header extension, located by the fixed header."""
    if not data[0] & 0x10: return None
    pos = 12 + 4 * (data[0] & 0x0f)
    profile, words = struct.unpack_from("!HH", data, pos)
    return profile, data[pos + 4:pos + 4 + 4 * words]

def describe_rtp(data):
    p = RtpPacket.parse(data)
    block = extension_block(data)
    if block is None:
        ext = "-"
    else:
        elements = unpack_header_extensions(*block)
        ext = "%04X:%s" % (block[0], lst(["%d=%s" % (i, hx(v)) for i, v in elements]))
    return "pt=%d m=%d seq=%d ts=%d ssrc=%d csrc=%s ext=%s pay=%s pad=%d" % (
        p.payload_type, p.marker, p.sequence_number, p.timestamp, p.ssrc, lst(p.csrc), ext,
        hx(p.payload), p.padding_size)

def report(r):
    return "%d/%d/%d/%d/%d/%d/%d" % (r.ssrc, r.fraction_lost, r.packets_lost,
                                      r.highest_sequence, r.jitter, r.lsr, r.dlsr)

def describe_rtcp(data):
    parts = []
    for p in RtcpPacket.parse(data):
        if isinstance(p, RtcpSrPacket):
            i = p.sender_info
            parts.append("sr %d %d %d %d %d %s" % (p.ssrc, i.ntp_timestamp, i.rtp_timestamp,
                         i.packet_count, i.octet_count, lst([report(r) for r in p.reports])))
        elif isinstance(p, RtcpRrPacket):
            parts.append("rr %d %s" % (p.ssrc, lst([report(r) for r in p.reports])))
        elif isinstance(p, RtcpSdesPacket):
            parts.append("sdes" + "".join(" %d:%s" % (c.ssrc, lst(["%d=%s" % (t, hx(v)) for t, v in c.items]))
                                          for c in p.chunks))
        elif isinstance(p, RtcpByePacket):
            parts.append("bye %s" % lst(p.sources))
        elif isinstance(p, RtcpRtpfbPacket):
            parts.append("nack %d %d %s" % (p.ssrc, p.media_ssrc, lst([x % 65536 for x in p.lost])))
        elif isinstance(p, RtcpPsfbPacket) and p.fmt == 1:
            parts.append("pli %d %d" % (p.ssrc, p.media_ssrc))
        elif isinstance(p, RtcpPsfbPacket) and p.fmt == 4:
            entries = [struct.unpack_from("!LB", p.fci, o) for o in range(0, len(p.fci), 8)]
            parts.append("fir %d %s" % (p.ssrc, lst(["%d/%d" % e for e in entries])))
        elif isinstance(p, RtcpPsfbPacket) and p.fmt == 15:
            bitrate, ssrcs = unpack_remb_fci(p.fci)
            parts.append("remb %d %d %s" % (p.ssrc, bitrate, lst(ssrcs)))
    return " | ".join(parts)

failures = 0
def check(what, ours, theirs, data):
    global failures
    if ours != theirs:
        failures += 1
        if failures < 5:
            print("MISMATCH %s\n  bytes  %s\n  ours   %s\n  aiortc %s" % (what, data.hex(), ours, theirs))

# 1. Our RTP and RTCP, parsed by aiortc. The extension block must be what aiortc's own
#    packer writes for the same elements (form choice and padding byte for byte).
peer.stdin.write("emit-rtp 7 %d\n" % count); peer.stdin.flush()
for _ in range(count):
    h, desc = peer.stdout.readline().strip().split(" ", 1)
    data = bytes.fromhex(h)
    check("peerless RTP -> aiortc", desc, describe_rtp(data), data)
    block = extension_block(data)
    if block is not None:
        check("extension block bytes", pack_header_extensions(unpack_header_extensions(*block)), block, data)
peer.stdin.write("emit-rtcp 9 %d\n" % count); peer.stdin.flush()
for _ in range(count):
    h, desc = peer.stdout.readline().strip().split(" ", 1)
    data = bytes.fromhex(h)
    check("peerless RTCP -> aiortc", desc, describe_rtcp(data), data)

# 2. aiortc's RTP (its extension map: mid, stream ids, abs-send-time, audio level,
#    transport-cc; long mids force the two-byte form) and RTCP, parsed by ours.
uris = ["urn:ietf:params:rtp-hdrext:sdes:mid",
        "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"]
for n in range(count):
    ids = rng.sample(range(1, 15) if n % 2 else range(1, 256), len(uris))
    xmap = HeaderExtensionsMap()
    xmap.configure(RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=i, uri=u) for i, u in zip(ids, uris)]))
    p = RtpPacket(payload_type=rng.randrange(128), marker=rng.randrange(2),
                  sequence_number=rng.randrange(65536), timestamp=rng.randrange(2**32),
                  ssrc=rng.randrange(2**32), payload=rng.randbytes(rng.randrange(300)))
    p.csrc = [rng.randrange(2**32) for _ in range(rng.randrange(4))]
    p.padding_size = rng.choice([0, 0, 1, 4, 13])
    if rng.randrange(4):
        p.extensions.mid = "m" * rng.randrange(1, 30)
        if rng.randrange(2): p.extensions.rtp_stream_id = "r%d" % rng.randrange(100)
        if rng.randrange(2): p.extensions.abs_send_time = rng.randrange(2**24)
        if rng.randrange(2): p.extensions.audio_level = (bool(rng.randrange(2)), rng.randrange(128))
        if rng.randrange(2): p.extensions.transport_sequence_number = rng.randrange(65536)
    data = p.serialize(xmap)
    check("aiortc RTP -> peerless", ask("parse-rtp " + data.hex()), describe_rtp(data), data)

def receiver_info():
    return RtcpReceiverInfo(ssrc=rng.randrange(2**32), fraction_lost=rng.randrange(256),
        packets_lost=rng.randrange(-2**23, 2**23), highest_sequence=rng.randrange(2**32),
        jitter=rng.randrange(2**32), lsr=rng.randrange(2**32), dlsr=rng.randrange(2**32))

for n in range(count):
    packets = []
    for _ in range(rng.randrange(1, 6)):
        kind, ssrc = rng.randrange(8), rng.randrange(2**32)
        if kind == 0:
            info = RtcpSenderInfo(ntp_timestamp=rng.randrange(2**64), rtp_timestamp=rng.randrange(2**32),
                                  packet_count=rng.randrange(2**32), octet_count=rng.randrange(2**32))
            packets.append(RtcpSrPacket(ssrc=ssrc, sender_info=info,
                                        reports=[receiver_info() for _ in range(rng.randrange(4))]))
        elif kind == 1:
            packets.append(RtcpRrPacket(ssrc=ssrc, reports=[receiver_info() for _ in range(rng.randrange(4))]))
        elif kind == 2:
            items = [(t, rng.randbytes(rng.randrange(1, 30))) for t in range(1, rng.randrange(2, 5))]
            packets.append(RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=ssrc, items=items)]))
        elif kind == 3:
            packets.append(RtcpByePacket(sources=[rng.randrange(2**32) for _ in range(rng.randrange(1, 4))]))
        elif kind == 4:
            lost = sorted(rng.sample(range(1000, 1100), rng.randrange(1, 20)))
            packets.append(RtcpRtpfbPacket(fmt=1, ssrc=ssrc, media_ssrc=rng.randrange(2**32), lost=lost))
        elif kind == 5:
            packets.append(RtcpPsfbPacket(fmt=1, ssrc=ssrc, media_ssrc=rng.randrange(2**32)))
        elif kind == 6:
            fci = b"".join(struct.pack("!LB3x", rng.randrange(2**32), rng.randrange(256)) for _ in range(rng.randrange(1, 4)))
            packets.append(RtcpPsfbPacket(fmt=4, ssrc=ssrc, media_ssrc=0, fci=fci))
        else:
            fci = pack_remb_fci(rng.randrange(2**40), [rng.randrange(2**32) for _ in range(rng.randrange(3))])
            packets.append(RtcpPsfbPacket(fmt=15, ssrc=ssrc, media_ssrc=0, fci=fci))
    data = b"".join(bytes(p) for p in packets)
    check("aiortc RTCP -> peerless", ask("parse-rtcp " + data.hex()), describe_rtcp(data), data)

peer.stdin.close(); peer.wait()
if failures:
    print("aiortc wire interop: %d mismatches: FAIL" % failures); sys.exit(1)
print("aiortc wire interop: %d RTP and %d RTCP packets each way, every field equal: PASS" % (count, count))
PY
