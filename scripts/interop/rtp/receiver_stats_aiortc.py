"""Runs aiortc's receiver statistics (aiortc.rtcrtpreceiver.StreamStatistics, its RFC 3550
A.3/A.8 code) over a seeded arrival trace and prints the trace and aiortc's report after every
50th packet, in the form rtp/tests/receiver_stats.rs reads:

    p <sequence> <timestamp> <arrival_us>
    r <fraction_lost> <cumulative_lost> <extended_highest> <jitter>

The trace: 8 kHz audio, 20 ms packets, sequence numbers wrapping past 65535, one-way delay
20..60 ms drawn per packet (so arrival order stays sequence order: aiortc's jitter skips
reordered packets where RFC 3550 A.8 does not), 4 % random loss and a 12-packet burst.
Arrival times are multiples of 125 us so both sides' timestamp-unit arrival is exact."""
import random
import sys
import time

from aiortc import rtcrtpreceiver
from aiortc.rtp import RtpPacket

rng = random.Random(3550)
stats = rtcrtpreceiver.StreamStatistics(clockrate=8000)
now_us = [0]
rtcrtpreceiver.time.time = lambda: (now_us[0] + 1) / 1e6

out = []
sequence, timestamp, send_us = 65000, 1000, 0
last_arrival = 0
for i in range(1200):
    lost = rng.random() < 0.04 or 400 <= i < 412
    arrival = send_us + 20_000 + rng.randrange(0, 40_000 // 125) * 125
    arrival = max(arrival, last_arrival + 125)
    if not lost:
        last_arrival = arrival
        now_us[0] = arrival
        stats.add(RtpPacket(sequence_number=sequence, timestamp=timestamp))
        out.append("p %d %d %d" % (sequence, timestamp, arrival))
        if len([l for l in out if l[0] == "p"]) % 50 == 0:
            out.append("r %d %d %d %d" % (stats.fraction_lost, stats.packets_lost,
                                           stats.cycles + stats.max_seq, stats.jitter))
    sequence = (sequence + 1) & 0xFFFF
    timestamp = (timestamp + 160) & 0xFFFFFFFF
    send_us += 20_000
sys.stdout.write("\n".join(out) + "\n")
