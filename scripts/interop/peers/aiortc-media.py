#!/usr/bin/env python3
"""aiortc peer with media (127.0.0.1 only): the opponent of scripts/interop/peer-aiortc-media.sh,
driven by peers/peer-aiortc-media.py (the team's shared/interop/aiortc_media_peer.py, which
checks gst_peer.py the same way, kept here so CI has it).

The same file contract as gst_peer.py, plus media:
answer mode: echo every data-channel message; send a test video (320x240, luma ramp) and
             silence back on every offered audio/video section the remote can receive
             (--send-video/--send-audio none to stop that); count decoded frames.
offer mode:  data channel "probe" (N text + 1 KiB binary + 60 kB text, echoes checked)
             plus --video vp8|h264 / --audio opus|pcmu sendrecv transceivers; stream for
             --duration seconds after the answer; count decoded frames.
Exit 0 only if the echoes matched (offer) and frames arrived for every kind the remote sends.
Loopback safety as in aiortc_peer.py: 127.0.0.1 host candidate only, iceServers=[], and
remote candidates that are not loopback IP literals are dropped. Needs the aiortc venv.
--ice-server URL (with --ice-username/--ice-credential) puts that one TURN server in the list,
--relay-only sets the relay transport policy (peer-turn-aiortc-media.sh: coturn on loopback);
the summary then also gives the selected pair's candidate types (local, remote).
"""
import argparse
import asyncio
import ipaddress
import json
import logging
import os
import sys
import time

import aioice.ice
import av
from aiortc import (AudioStreamTrack, RTCConfiguration, RTCIceServer, RTCIceTransportPolicy,
                    RTCPeerConnection, RTCRtpSender, RTCSessionDescription, VideoStreamTrack)

log = logging.getLogger("aiortc_media_peer")
LOOPBACK = "127.0.0.1"


def force_loopback() -> None:
    # aioice skips 127.0.0.1 when listing host addresses: make it the only one.
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: [LOOPBACK]
    orig_add = aioice.ice.Connection.add_remote_candidate

    async def guarded_add(self, cand):
        if cand is not None:
            try:
                ok = ipaddress.ip_address(cand.host).is_loopback
            except ValueError:  # mDNS name: aioice would resolve it by multicast
                ok = False
            if not ok:
                log.warning("dropping non-loopback remote candidate %s", cand.host)
                return
        return await orig_add(self, cand)
    aioice.ice.Connection.add_remote_candidate = guarded_add


class RampTrack(VideoStreamTrack):
    """320x240 frames whose brightness changes every frame (so every frame differs)."""

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(320, 240, "yuv420p")
        for i, plane in enumerate(frame.planes):
            plane.update(bytes([(pts // 3000) % 200 + 30 if i == 0 else 128]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


def prefer(transceiver, codec: str) -> None:
    caps = RTCRtpSender.getCapabilities(transceiver.kind).codecs
    chosen = [c for c in caps if c.mimeType.lower() == f"{transceiver.kind}/{codec}"]
    assert chosen, f"aiortc has no {codec}"
    # With its RTX entry, as a browser offers video: lost packets come back on their own SSRC.
    rtx = [c for c in caps if c.mimeType.lower() == f"{transceiver.kind}/rtx"]
    transceiver.setCodecPreferences(chosen + rtx)


def parse_sdp_blob(text: str, want_type: str) -> str:
    text = text.strip()
    if text.startswith("{"):
        obj = json.loads(text)
        assert obj.get("type", want_type) == want_type, f"expected {want_type}"
        text = obj["sdp"]
    lines = [l for l in text.replace("\r\n", "\n").split("\n") if l.strip()]
    return "\r\n".join(lines) + "\r\n"


async def read_input(path: str, want_type: str, one_line: bool, timeout: float) -> str:
    if path == "-":
        read = sys.stdin.readline if one_line else sys.stdin.read
        return parse_sdp_blob(await asyncio.get_running_loop().run_in_executor(None, read), want_type)
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {path}")
        await asyncio.sleep(0.05)
    with open(path) as f:
        return parse_sdp_blob(f.read(), want_type)


def write_output(path: str, sdp: str, sdp_type: str, as_json: bool) -> None:
    blob = json.dumps({"type": sdp_type, "sdp": sdp}) + "\n" if as_json else sdp
    if path == "-":
        sys.stdout.write(blob)
        sys.stdout.flush()
        return
    with open(path + ".tmp", "w") as f:
        f.write(blob)
    os.replace(path + ".tmp", path)


class Peer:
    def __init__(self, args):
        self.args, self.t0 = args, time.monotonic()
        servers = []  # None would mean Google's STUN server
        if args.ice_server:
            servers = [RTCIceServer(urls=args.ice_server, username=args.ice_username,
                                    credential=args.ice_credential)]
        policy = RTCIceTransportPolicy.RELAY if args.relay_only else RTCIceTransportPolicy.ALL
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=servers, iceTransportPolicy=policy))
        self.stats = {"frames": {}, "frame_size": {}, "codecs": {}, "dc_rx": 0, "channels": []}
        self.finished = asyncio.Event()
        self.pc.on("track", lambda track: asyncio.ensure_future(self.consume(track)))
        self.pc.on("connectionstatechange", self.on_state)

    async def on_state(self):
        log.info("connectionState=%s", self.pc.connectionState)
        if self.pc.connectionState in ("failed", "closed"):
            self.finished.set()

    async def consume(self, track):
        log.info("remote %s track", track.kind)
        self.stats["frames"][track.kind] = 0
        while True:
            try:
                frame = await track.recv()
            except Exception:
                break
            self.stats["frames"][track.kind] += 1
            if track.kind == "video":
                self.stats["frame_size"]["video"] = f"{frame.width}x{frame.height}"

    def remote_sends(self):
        return {t.kind for t in self.pc.getTransceivers() if t.currentDirection in ("sendrecv", "recvonly")}

    def selected_types(self):
        """The nominated pair's (local, remote) candidate types on the bundled transport. aiortc
        has no candidate-pair stats; aioice keeps the pair until the connection closes."""
        dtls = [t.receiver.transport for t in self.pc.getTransceivers()]
        if self.pc.sctp is not None:
            dtls.append(self.pc.sctp.transport)
        for d in dtls:
            pair = getattr(getattr(d, "transport", None), "_connection", None)
            pair = pair._nominated.get(1) if pair is not None else None
            if pair is not None:
                return [pair.local_candidate.type, pair.remote_candidate.type]
        return None

    def summary(self, role, extra):
        for t in self.pc.getTransceivers():  # negotiated codec (first common one)
            if getattr(t, "_codecs", None):
                self.stats["codecs"][t.kind] = t._codecs[0].mimeType
        self.stats["selected_types"] = self.selected_types()
        local = self.pc.localDescription.sdp if self.pc.localDescription else ""
        self.stats["local_candidate_types"] = sorted(
            {l.split(" typ ")[1].split()[0] for l in local.splitlines() if l.startswith("a=candidate:")})
        s = {"role": role, "connectionState": self.pc.connectionState, **self.stats,
             "elapsed_s": round(time.monotonic() - self.t0, 3), **extra}
        log.info("SUMMARY %s", json.dumps(s))
        if self.args.summary:
            with open(self.args.summary, "w") as f:
                json.dump(s, f)
        return s


async def run_answer(args) -> int:
    offer = await read_input(args.offer, "offer", args.offer == "-" and args.json, args.timeout)
    peer = Peer(args)
    pc = peer.pc

    @pc.on("datachannel")
    def on_dc(ch):
        peer.stats["channels"].append(ch.label)
        ch.on("close", peer.finished.set)  # the offerer closed its channel: it is done
        if args.greet:
            ch.send(f"hello from aiortc on {ch.label}")

        @ch.on("message")
        def on_msg(msg):
            peer.stats["dc_rx"] += 1
            ch.send(msg)  # echo unchanged

    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    for t in pc.getTransceivers():  # send back on every section the remote can receive
        if getattr(args, f"send_{t.kind}", "none") == "auto" and t._offerDirection in ("sendrecv", "sendonly"):
            t.sender.replaceTrack(RampTrack() if t.kind == "video" else AudioStreamTrack())
            t.direction = "sendrecv"  # the answer ANDs this with the offer's direction
    await pc.setLocalDescription(await pc.createAnswer())  # gathers all candidates
    write_output(args.answer_out, pc.localDescription.sdp, "answer", args.json)
    try:
        await asyncio.wait_for(peer.finished.wait(), args.duration)
    except asyncio.TimeoutError:
        pass
    want = peer.remote_sends()
    s = peer.summary("answer", {})
    await pc.close()
    return 0 if all(s["frames"].get(k, 0) > 0 for k in want) else 1


async def run_offer(args) -> int:
    peer = Peer(args)
    pc = peer.pc
    ch = pc.createDataChannel("probe")
    opened, echoes, greetings = asyncio.Event(), asyncio.Queue(), []
    ch.on("open", opened.set)
    ch.on("message", lambda m: greetings.append(m) if isinstance(m, str) and m.startswith("hello from ")
          and not greetings else echoes.put_nowait(m))
    if args.video != "none":
        prefer(pc.addTransceiver(RampTrack(), direction="sendrecv"), args.video)
    if args.audio != "none":
        prefer(pc.addTransceiver(AudioStreamTrack(), direction="sendrecv"), args.audio)
    await pc.setLocalDescription(await pc.createOffer())
    write_output(args.offer_out, pc.localDescription.sdp, "offer", args.json)
    answer = await read_input(args.answer_in, "answer", args.answer_in == "-" and args.json, args.timeout)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    t1 = time.monotonic()
    await asyncio.wait_for(opened.wait(), args.timeout)
    log.info("data channel open after %.3fs", time.monotonic() - t1)
    sent = [f"hello-{i}" for i in range(args.count)] + [bytes(range(256)) * 4, "x" * 60000]
    for m in sent:
        ch.send(m)
    ok = 0
    for m in sent:
        got = await asyncio.wait_for(echoes.get(), args.timeout)
        ok += got == m
    echo_s = round(time.monotonic() - t1, 3)
    if args.video != "none" or args.audio != "none":
        await asyncio.sleep(max(0.0, t1 + args.duration - time.monotonic()))
    want = peer.remote_sends()
    s = peer.summary("offer", {"sent": len(sent), "echo_ok": ok, "echo_s": echo_s,
                               "greeting": greetings[0] if greetings else None})
    await pc.close()
    return 0 if ok == len(sent) and all(s["frames"].get(k, 0) > 0 for k in want) else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("answer")
    a.add_argument("--offer", default="-")
    a.add_argument("--answer-out", default="-")
    a.add_argument("--greet", action="store_true")
    a.add_argument("--duration", type=float, default=30.0)
    a.add_argument("--send-video", default="auto", choices=["auto", "none"], help="auto: first common codec")
    a.add_argument("--send-audio", default="auto", choices=["auto", "none"])
    o = sub.add_parser("offer")
    o.add_argument("--offer-out", required=True)
    o.add_argument("--answer-in", required=True)
    o.add_argument("--count", type=int, default=10)
    o.add_argument("--video", default="none", choices=["vp8", "h264", "none"])
    o.add_argument("--audio", default="none", choices=["opus", "pcmu", "none"])
    o.add_argument("--duration", type=float, default=10.0)
    for p in (a, o):
        p.add_argument("--summary")
        p.add_argument("--json", action="store_true")
        p.add_argument("--timeout", type=float, default=20.0)
        p.add_argument("--ice-server", help="one TURN/STUN URL (default: no ICE server)")
        p.add_argument("--ice-username")
        p.add_argument("--ice-credential")
        p.add_argument("--relay-only", action="store_true", help="relay transport policy")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"[aiortc-{args.mode} %(relativeCreated)6.0fms] %(message)s")
    for noisy in ("aioice", "aiortc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    force_loopback()
    return asyncio.run(run_answer(args) if args.mode == "answer" else run_offer(args))


if __name__ == "__main__":
    sys.exit(main())
