"""aiortc's VP8 payloader (aiortc.codecs.vpx: Vp8Encoder._packetize and VpxPayloadDescriptor),
an independent implementation, as known answers for rtp's VP8 packetizer and descriptor.
Writes to stdout; argv[1] is vp8_gst.ivf (the frames to packetize).

  payload FRAME_INDEX DESCRIPTOR_HEX MEDIA_LEN  each payload of each frame, picture ids from
                                                32700 (wrapping), PACKET_MAX octets at most
  descriptor S PID PICTURE_ID TL0PICIDX TID Y KEYIDX HEX  random descriptors ("-": absent)
"""
import random
import struct
import sys

from aiortc.codecs import vpx

data = open(sys.argv[1], "rb").read()
header_len = struct.unpack_from("<H", data, 6)[0]
pos = header_len
frames = []
while pos < len(data):
    size = struct.unpack_from("<I", data, pos)[0]
    frames.append(data[pos + 12 : pos + 12 + size])
    pos += 12 + size

print(f"# aiortc {__import__('aiortc').__version__} VP8 payloader; PACKET_MAX {vpx.PACKET_MAX}")
print(f"max_payload {vpx.PACKET_MAX}")
encoder_picture_id = 32700
for i, frame in enumerate(frames):
    for payload in vpx.Vp8Encoder._packetize(frame, encoder_picture_id):
        descr, rest = vpx.VpxPayloadDescriptor.parse(payload)
        header = payload[: len(payload) - len(rest)]
        print(f"payload {i} {header.hex()} {len(rest)}")
    encoder_picture_id = (encoder_picture_id + 1) % (1 << 15)

rng = random.Random(7741)
for _ in range(200):
    start = rng.getrandbits(1)
    pid = rng.randrange(8)
    picture_id = rng.choice([None, rng.randrange(1 << 15)])
    tl0 = rng.choice([None, rng.randrange(256)])
    tid = rng.choice([None, (rng.randrange(4), rng.getrandbits(1))])
    keyidx = rng.choice([None, rng.randrange(32)])
    d = vpx.VpxPayloadDescriptor(
        partition_start=start, partition_id=pid, picture_id=picture_id,
        tl0picidx=tl0, tid=tid, keyidx=keyidx,
    )
    fields = [start, pid, picture_id, tl0, tid[0] if tid else None, tid[1] if tid else None, keyidx]
    print("descriptor", " ".join("-" if f is None else str(f) for f in fields), bytes(d).hex())
