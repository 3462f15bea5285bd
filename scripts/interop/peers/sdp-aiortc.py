# The aiortc side of scripts/interop/sdp-aiortc.sh, which says what it checks and runs it:
#   python sdp-aiortc.py SDP_PEER
import asyncio, subprocess, sys

import aioice.ice
# aioice skips loopback when listing host addresses; inside the lo-only namespace that is all
# there is, so offer it explicitly (interop-notes.md).
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import SessionDescription

BIN = sys.argv[1]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def peer(*args, stdin=""):
    p = subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stdout + p.stderr)
    return p.returncode, p.stdout


def new_pc():
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


async def aiortc_offers(av, transceivers=True):
    name = ("audio+video+data" if av else "data") + ("" if transceivers else " to no transceivers")
    pc = new_pc()
    pc.createDataChannel("chat")
    if av:
        pc.addTransceiver("audio", direction="sendrecv")
        pc.addTransceiver("video", direction="sendrecv")
    await pc.setLocalDescription(await pc.createOffer())
    flags = (["--audio", "--video"] if transceivers else ["--no-receive"]) if av else []
    rc, answer = peer("answer", *flags, stdin=pc.localDescription.sdp)
    check(rc == 0, f"{name}: sdp_peer answers aiortc's offer")
    if rc != 0:
        await pc.close()
        return
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        accepted = True
    except Exception as e:  # the failure we are testing for
        print(answer)
        print(f"aiortc rejected our answer: {e!r}")
        accepted = False
    check(accepted, f"{name}: aiortc's setRemoteDescription accepts our answer")
    if accepted:
        check(pc.signalingState == "stable", f"{name}: signalling state stable")
        parsed = SessionDescription.parse(answer)
        check(all(m.dtls and m.dtls.role == "client" for m in parsed.media),
              f"{name}: aiortc reads our setup:active (DTLS client) in every section")
        check(all(m.ice and m.ice.usernameFragment == "pEer" for m in parsed.media),
              f"{name}: aiortc reads our ICE credentials")
        live = [m for m in parsed.media if m.port != 0]
        check(all(m.ice_candidates and m.ice_candidates[0].port == 40000 for m in live),
              f"{name}: aiortc reads our candidate")
        check(all(m.ice_candidates_complete for m in live),
              f"{name}: aiortc reads our end-of-candidates")
        if av and not transceivers:
            # Without transceivers both media sections carry no media: the BUNDLE tag (audio)
            # stays inactive, video is rejected with port 0; aiortc wants ICE credentials, a
            # DTLS role and rtcp-mux even in the rejected one.
            kinds = {m.kind: m for m in parsed.media}
            check(kinds["video"].port == 0, f"{name}: video rejected with port 0")
            check(kinds["audio"].direction == "inactive", f"{name}: audio (the BUNDLE tag) inactive")
            check(kinds["application"].port != 0, f"{name}: the data section accepted")
        elif av:
            dirs = [t.currentDirection for t in pc.getTransceivers()]
            check(dirs == ["sendrecv", "sendrecv"], f"{name}: negotiated directions {dirs}")
            audio = next(m for m in parsed.media if m.kind == "audio")
            video = next(m for m in parsed.media if m.kind == "video")
            check([c.name for c in audio.rtp.codecs][:1] == ["opus"], f"{name}: opus answered first")
            check(any(c.name == "VP8" for c in video.rtp.codecs), f"{name}: VP8 answered")
            check(any(c.name == "rtx" for c in video.rtp.codecs), f"{name}: rtx answered")
        else:
            check(parsed.media[0].sctp_port == 5000, f"{name}: aiortc reads sctp-port")
    await pc.close()


async def we_offer(av):
    name = "audio+video+data" if av else "data"
    flags = ["--audio", "--video"] if av else []
    rc, offer = peer("offer", *flags)
    check(rc == 0, f"{name}: sdp_peer makes an offer")
    pc = new_pc()
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        answered = True
    except Exception as e:
        print(offer)
        print(f"aiortc rejected our offer: {e!r}")
        answered = False
    check(answered, f"{name}: aiortc accepts our offer and answers it")
    if answered:
        rc, out = peer("check-answer", *flags, stdin=pc.localDescription.sdp)
        print(out.strip())
        check(rc == 0, f"{name}: our parser reads aiortc's answer with all the Peer needs")
        if av:
            dirs = [t.currentDirection for t in pc.getTransceivers()]
            check(dirs == ["recvonly", "recvonly"], f"{name}: aiortc receives our tracks {dirs}")
    await pc.close()


async def main():
    for av in (False, True):
        await aiortc_offers(av)
        await we_offer(av)
    await aiortc_offers(True, transceivers=False)


asyncio.run(main())
if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("sdp interop with aiortc: all checks passed")
