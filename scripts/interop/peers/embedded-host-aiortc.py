# The aiortc WHIP client of scripts/interop/embedded-host-aiortc.sh, which says what it checks
# and runs it (through embedded-host-aiortc-netns.sh) inside the namespace: python embedded-host-aiortc.py
import asyncio, sys, urllib.error, urllib.request

import aioice.ice
# aioice lists only non-loopback addresses of the host; the namespace has exactly one, the
# kernel side of the TAP device (interop-notes.md, adapted).
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["192.0.2.1"]

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

BASE = "http://192.0.2.2:8080"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def http(method, path, body=None, ctype=None):
    req = urllib.request.Request(BASE + path, data=body, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def messages(n, tag, biggest):
    out = []
    for i in range(n):
        if i == n // 2:
            out.append(bytes((x * 7 + i) & 0xFF for x in range(biggest)))
        elif i % 2:
            out.append(bytes((x ^ i) & 0xFF for x in range(1 + (i * 53) % 1100)))
        else:
            out.append(f"{tag} message {i} ✓")
    return out


async def session(tag, count, media=False):
    loop = asyncio.get_running_loop()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    if media:
        # An app's offer with audio before the data channel. The app's Peer has no
        # transceivers (TRANSCEIVERS = 0: it links no media code) and must answer as a browser
        # without transceivers does. (aiortc's audio + video + data offer, ~4 KB, is over the
        # data build's 3 KiB OFFER_MAX and is refused with 413 by design; see sizes.rs.)
        pc.addTransceiver("audio", direction="sendrecv")
    ch = pc.createDataChannel("chat")
    sent, got, done = [], [], asyncio.Event()

    @ch.on("open")
    def on_open():
        for m in sent:
            ch.send(m)

    @ch.on("message")
    def on_message(m):
        got.append(m)
        if len(got) == len(sent):
            done.set()

    await pc.setLocalDescription(await pc.createOffer())
    status, headers, body = await loop.run_in_executor(
        None, http, "POST", "/whip", pc.localDescription.sdp.encode(), "application/sdp")
    check(status == 201, f"{tag}: POST /whip answered 201 (got {status})")
    if status != 201:
        return pc
    check(headers.get("Location") == "/whip/session", f"{tag}: Location {headers.get('Location')}")
    check(headers.get("Content-Type") == "application/sdp", f"{tag}: answer is application/sdp")
    answer = body.decode()
    check("a=candidate:" in answer and "192.0.2.2 5000 typ host" in answer,
          f"{tag}: the answer carries the app's host candidate")
    check("a=end-of-candidates" in answer, f"{tag}: the answer is complete (end-of-candidates)")
    mms = [int(l.split(":")[1]) for l in answer.splitlines() if l.startswith("a=max-message-size:")]
    check(mms == [2048], f"{tag}: the app announces a=max-message-size:2048 ({mms})")
    if media:
        sections = answer.split("\r\nm=")[1:]
        av = [m for m in sections if m.startswith(("audio", "video"))]
        # Rejected with port 0 (RFC 8829 §5.3.1), or, for the BUNDLE tag that may not be
        # rejected (RFC 8843 §7.3.3), kept inactive: no media either way.
        no_media = all(m.split()[1] == "0" or "a=inactive" in m for m in av)
        check(len(av) == 1 and no_media,
              f"{tag}: the audio section is answered without media ({[m.split(chr(13))[0] for m in av]})")
        check(sum(m.startswith("application") and m.split()[1] != "0" for m in sections) == 1,
              f"{tag}: the data section is accepted")
    sent.extend(messages(count, tag, mms[0] if mms else 1024))
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    try:
        await asyncio.wait_for(done.wait(), 30)
    except asyncio.TimeoutError:
        pass
    check(ch.readyState == "open" or len(got) > 0, f"{tag}: the channel opened")
    check(len(got) == len(sent), f"{tag}: {len(got)}/{len(sent)} echoes")
    bad = [i for i, (a, b) in enumerate(zip(sent, got)) if a != b or type(a) is not type(b)]
    check(not bad, f"{tag}: every echo equal, in order, text stays text (mismatches at {bad[:5]})")
    check(pc.connectionState == "connected", f"{tag}: connectionState {pc.connectionState}")
    return pc


async def main():
    loop = asyncio.get_running_loop()
    status, headers, body = await loop.run_in_executor(None, http, "GET", "/")
    check(status == 200 and b"RTCPeerConnection" in body, f"GET / serves the demo page ({status})")
    status, _, _ = await loop.run_in_executor(None, http, "POST", "/whip", b"v=0\r\n", "text/plain")
    check(status == 415, f"a non-SDP POST is refused with 415 (got {status})")
    status, _, _ = await loop.run_in_executor(None, http, "POST", "/whip", b"not sdp", "application/sdp")
    check(status == 400, f"a broken offer is refused with 400 (got {status})")
    first = await session("first", 60)
    await first.close()
    # The app runs one session at a time: an offer while "second" is still connected
    # replaces its Peer, and the new session works from scratch.
    second = await session("second", 20)
    third = await session("third", 20)
    await second.close()
    # WHIP's DELETE on the session URL ends it: the app closes the Peer (DTLS close_notify,
    # SCTP ABORT) and aiortc sees its connection end.
    status, _, _ = await loop.run_in_executor(None, http, "DELETE", "/whip/session")
    check(status == 200, f"DELETE /whip/session answered 200 (got {status})")
    for _ in range(50):
        if third.connectionState != "connected":
            break
        await asyncio.sleep(0.1)
    check(third.connectionState in ("closed", "failed"),
          f"after DELETE aiortc's connection ended ({third.connectionState})")
    await third.close()
    # aiortc offers audio + video + data: the media sections are refused, DTLS still
    # negotiates use_srtp (aiortc fails a handshake without an SRTP profile), the channel
    # opens and echoes.
    fourth = await session("media", 20, media=True)
    await fourth.close()


asyncio.run(main())
print("client: %d failure(s)" % len(failures), flush=True)
sys.exit(1 if failures else 0)
