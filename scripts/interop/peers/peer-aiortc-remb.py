#!/usr/bin/env python3
"""The cases of scripts/interop/peer-aiortc-remb.sh, which says what they check:
    python peer-aiortc-remb.py CLI WORK LADDER OPUS RATE_KBIT
Run inside the lo-only namespace whose lo the script has shaped with tc tbf. The CLI offers the
ladder and the tone; aiortc (in this process) answers receive-only, decodes what arrives and
sends REMB from its abs-send-time estimator; we record every REMB it computes (its
RemoteBitrateEstimator, wrapped) and compare with the CLI's summary."""
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

import aiortc.rtcrtpreceiver
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rate import RemoteBitrateEstimator
from aiortc.rtp import pack_remb_fci, unpack_remb_fci

BIN, WORK, LADDER, OPUS, RATE_KBIT = sys.argv[1:6]
LIMIT = int(RATE_KBIT) * 1000
DURATION, WINDOW, MIN_PER_WINDOW = 40, 5, 30
# aiortc (which NACKs a gap once) may hold frames behind a hole for a while, and its first
# REMBs take a few seconds: the windows of decoded frames are counted from SETTLE s on.
SETTLE = 10
# The defaults (30 kbit/s, 300 kbit/s start, 10 Mbit/s): REMB alone moves the estimate.
LIMITS = "30000,300000,10000000"

# The shared aiortc helpers (loopback only) from aiortc-media.py beside this file (no
# __pycache__ left in the repository).
sys.dont_write_bytecode = True
spec = importlib.util.spec_from_file_location(
    "aiortc_media", os.path.join(os.path.dirname(__file__), "aiortc-media.py"))
aiortc_media = importlib.util.module_from_spec(spec)
spec.loader.exec_module(aiortc_media)
aiortc_media.force_loopback()

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


T0 = time.monotonic()
rembs = []          # (s since start, bit/s as aiortc computed it)
abs_send_packets = [0]


class Recording(RemoteBitrateEstimator):
    """aiortc's estimator, noting each REMB it asks its receiver to send."""

    def add(self, arrival_time_ms, abs_send_time, payload_size, ssrc):
        abs_send_packets[0] += 1
        remb = super().add(arrival_time_ms, abs_send_time, payload_size, ssrc)
        if remb is not None:
            rembs.append((time.monotonic() - T0, remb[0]))
        return remb


aiortc.rtcrtpreceiver.RemoteBitrateEstimator = Recording


def on_wire(bps):
    """A bitrate as the REMB carries it (18-bit mantissa and exponent): what we can read."""
    return unpack_remb_fci(pack_remb_fci(bps, [0]))[0]


async def wait_json(path, seconds=20):
    for _ in range(seconds * 10):
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            await asyncio.sleep(0.1)
    raise RuntimeError(f"no {path}")


async def main():
    offer_path, answer_path = os.path.join(WORK, "offer.json"), os.path.join(WORK, "answer.json")
    summary_path = os.path.join(WORK, "cli.json")
    log = open(os.path.join(WORK, "cli.log"), "w")
    cli = subprocess.Popen([BIN, "offer", "--offer-out", offer_path, "--answer-in", answer_path,
                            "--json", "--no-data", "--duration", str(DURATION),
                            "--video-ladder", LADDER, "--audio", OPUS,
                            "--bitrate-limits", LIMITS, "--summary", summary_path],
                           stderr=log)
    offer = await wait_json(offer_path)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    decoded = {"video": 0, "audio": 0}
    size = [None]

    async def consume(track):
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            decoded[track.kind] += 1
            if track.kind == "video":
                size[0] = (frame.width, frame.height)

    pc.on("track", lambda track: asyncio.ensure_future(consume(track)))
    await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    answer = pc.localDescription.sdp
    with open(answer_path + ".tmp", "w") as f:
        json.dump({"type": "answer", "sdp": answer}, f)
    os.replace(answer_path + ".tmp", answer_path)
    check("abs-send-time" in offer["sdp"] and "abs-send-time" in answer,
          "our offer carries the abs-send-time extmap and aiortc's answer keeps it")
    check("goog-remb" in offer["sdp"], "our offer has rtcp-fb goog-remb")
    # Once a second until the CLI ends: what aiortc decoded.
    series = []
    start = time.monotonic()
    while cli.poll() is None and time.monotonic() - start < DURATION + 10:
        await asyncio.sleep(1)
        series.append((round(time.monotonic() - start), decoded["video"], decoded["audio"]))
    if cli.poll() is None:
        cli.kill()
    rc = cli.wait()
    await pc.close()
    try:
        with open(summary_path) as f:
            s = json.load(f)
    except (OSError, ValueError):
        s = {}
    b = s.get("bitrate", {})
    samples = b.get("samples", [])
    kbit = lambda bps: round(bps / 1000) if bps is not None else None
    print("     our side, once a second: t s, target kbit/s, rendition kbit/s, video sent kbit/s, REMB kbit/s")
    print("     " + " ".join(f"{round(x[0] / 1000)}:{kbit(x[1])}/{kbit(x[2])}/{kbit(x[3])}/{kbit(x[4]) if len(x) > 4 else '-'}"
                             for x in samples))
    print("     aiortc's REMBs: t s: kbit/s")
    print("     " + " ".join(f"{t:.1f}:{kbit(r)}" for t, r in rembs))
    print("     aiortc decoded, once a second: t s: video frames")
    print("     " + " ".join(f"{t}:{v}" for t, v, _ in series))

    check(rc == 0 and s.get("ok") is True, f"the CLI says ok (exit {rc})")
    check(abs_send_packets[0] > 0 and len(rembs) >= 5,
          f"aiortc's estimator read abs-send-time on {abs_send_packets[0]} packets and computed {len(rembs)} REMBs")
    # REMB arrived: the last value we read is one aiortc sent, as the wire carries it.
    last_remb = b.get("remb_bps_last")
    sent = {on_wire(r) for _, r in rembs}
    check(last_remb is not None and last_remb in sent,
          f"our estimator's last REMB, {kbit(last_remb)} kbit/s, is one aiortc sent")
    # The target at or under the REMB: every sample once a REMB was read, and at the end.
    bounded = [x for x in samples if len(x) > 4 and x[4]]
    over = [x for x in bounded if x[1] > x[4]]
    check(len(bounded) >= 10 and not over,
          f"our target was at or under aiortc's REMB in all {len(bounded)} samples after the first REMB"
          + (f"; over in {len(over)}: {over[:3]}" if over else ""))
    check(b.get("target_bps_last") is not None and last_remb is not None and b["target_bps_last"] <= last_remb,
          f"at the end our target {kbit(b.get('target_bps_last'))} kbit/s <= REMB {kbit(last_remb)} kbit/s")
    check(b.get("delay_bps_last") is not None,
          f"the parts at the end: delay-based {kbit(b.get('delay_bps_last'))}, loss-based {kbit(b.get('loss_bps_last'))}, REMB {kbit(last_remb)} kbit/s (no transport-wide feedback: the first two stay at the start)")
    check(b.get("rendition_switches", 0) > 0,
          f"the ladder followed: {b.get('rendition_switches')} switches, frames per rendition {b.get('rendition_frames')} of {[kbit(x) for x in b.get('renditions_bps', [])]} kbit/s")
    # aiortc decodes our video through the end.
    first = next((i for i, x in enumerate(series) if x[0] >= SETTLE), None)
    windows = []
    if first is not None:
        i = first
        while i + WINDOW < len(series):
            windows.append(series[i + WINDOW][1] - series[i][1])
            i += WINDOW
    vids = decoded["video"]
    check(vids >= 300 and size[0] is not None and len(windows) >= 4 and min(windows) >= MIN_PER_WINDOW,
          f"aiortc decoded {vids} of our video frames ({size[0]}), per {WINDOW} s from {SETTLE} s on: {windows} (each >= {MIN_PER_WINDOW}), and {decoded['audio']} audio frames")
    tail = [r for t, r in rembs if t >= rembs[-1][0] - 15] if rembs else []
    print(f"\nRESULTS {json.dumps({'limit_bps': LIMIT, 'rembs': len(rembs), 'remb_tail_median_bps': statistics.median(tail) if tail else None, 'bitrate': {k: v for k, v in b.items() if k != 'samples'}, 'aiortc_decoded': decoded, 'windows': windows})}")
    return 1 if failures else 0


code = asyncio.run(main())
print(f"{len(failures)} check(s) failed" if code else "peer-aiortc-remb: all checks passed")
sys.exit(code)
