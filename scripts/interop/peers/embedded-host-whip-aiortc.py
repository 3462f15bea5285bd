# The WHIP endpoint of scripts/interop/embedded-host-whip-aiortc.sh (aiohttp + aiortc), which
# says what it checks. Runs inside the script's namespace, where tap0 is 192.0.2.1/24:
#   python embedded-host-whip-aiortc.py HOST_APP WORK data|media
# It starts the embassy host application itself (twice) as a WHIP client of this endpoint;
# `media` says the app was built with its media feature, so its offers must carry the clip
# and the tone and aiortc must decode them.
import asyncio, os, sys

import aioice.ice
# aioice lists only non-loopback addresses; the namespace has exactly one, the kernel side of
# the TAP device (interop-notes.md, adapted).
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["192.0.2.1"]

from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

BIN, WORK, BUILD = sys.argv[1], sys.argv[2], sys.argv[3]
TOKEN = "peerless-whip-test-token"
URL = "http://192.0.2.1:8080"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


class Endpoint:
    """A WHIP endpoint: /redirect/whip answers 307 to /whip; POST /whip creates sessions
    (the first one with an answer that is not SDP, the next ones with aiortc's real answer,
    their Location relative, absolute-path, then absolute); DELETE ends them."""

    def __init__(self):
        self.log = []            # (method, path, status) of every request
        self.auth_bad = []       # requests without our bearer token
        self.posts = 0
        self.sessions = {}       # path -> RTCPeerConnection (None for the broken answer)
        self.offers = []
        self.deleted = asyncio.Queue()
        self.opened = asyncio.Queue()   # (session path, channel, pc)
        self.frames = {}         # (session path, kind) -> [frames decoded, (width, height)]

    def authorized(self, request):
        ok = request.headers.get("Authorization") == f"Bearer {TOKEN}"
        if not ok:
            self.auth_bad.append((request.method, request.path))
        return ok

    async def redirect(self, request):
        self.log.append((request.method, request.path, 307))
        return web.Response(status=307, headers={"Location": "/whip"})

    async def post(self, request):
        if not self.authorized(request):
            self.log.append((request.method, request.path, 401))
            return web.Response(status=401)
        if request.content_type != "application/sdp":
            self.log.append((request.method, request.path, 415))
            return web.Response(status=415)
        offer = (await request.read()).decode()
        self.offers.append(offer)
        self.posts += 1
        n = self.posts
        path = f"/whip/sessions/{n}"
        location = {2: path}.get(n, URL + path)
        if n == 1:
            # Relative to the request's /whip: RFC 3986 makes it /sessions/1 (not under /whip/).
            path, location = "/sessions/1", "sessions/1"
        if n == 1:
            # A 201 whose body is no answer: the client must refuse it and DELETE the session.
            self.sessions[path] = None
            self.log.append((request.method, request.path, 201))
            return web.Response(status=201, headers={"Location": location},
                                content_type="application/sdp", body=b"v=0\r\nthis is no answer\r\n")
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.sessions[path] = pc

        @pc.on("datachannel")
        def on_channel(ch):
            self.opened.put_nowait((path, ch, pc))

        @pc.on("track")
        def on_track(track):
            counter = self.frames.setdefault((path, track.kind), [0, None])

            async def decode():
                # aiortc hands over decoded frames: each one counted is a picture or 20 ms
                # of sound that went through RTP, SRTP, depacketizing and the decoder.
                try:
                    while True:
                        frame = await track.recv()
                        counter[0] += 1
                        if track.kind == "video":
                            counter[1] = (frame.width, frame.height)
                except Exception:
                    pass

            asyncio.ensure_future(decode())

        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        self.log.append((request.method, request.path, 201))
        return web.Response(status=201, headers={"Location": location},
                            content_type="application/sdp", body=pc.localDescription.sdp.encode())

    async def delete(self, request):
        path = request.path
        if not self.authorized(request):
            status = 401
        elif path not in self.sessions:
            status = 404
        else:
            status = 200
            pc = self.sessions.pop(path)
            if pc is not None:
                await pc.close()
        self.log.append((request.method, path, status))
        self.deleted.put_nowait((path, status))
        return web.Response(status=status)


def messages(tag):
    out = []
    for i in range(12):
        if i % 2:
            out.append(bytes((x * 7 + i) & 0xFF for x in range(1 + (i * 97) % 1200)))
        else:
            out.append(f"{tag} message {i} ✓")
    return out


async def echo_check(tag, ch):
    sent, got, done = messages(tag), [], asyncio.Event()

    @ch.on("message")
    def on_message(m):
        got.append(m)
        if len(got) >= len(sent):
            done.set()

    for m in sent:
        ch.send(m)
    try:
        await asyncio.wait_for(done.wait(), 15)
    except asyncio.TimeoutError:
        pass
    check(len(got) == len(sent) and all(a == b and type(a) is type(b) for a, b in zip(sent, got)),
          f"{tag}: {len(got)}/{len(sent)} echoes over the app's channel '{ch.label}', equal and in order")


async def next_item(queue, seconds, what):
    try:
        return await asyncio.wait_for(queue.get(), seconds)
    except asyncio.TimeoutError:
        check(False, f"{what} within {seconds} s")
        return None


async def start_host(name, *args):
    log = open(os.path.join(WORK, f"{name}.log"), "wb")
    proc = await asyncio.create_subprocess_exec(
        BIN, "--tap", "tap0", "--address", "192.0.2.2/24", *args,
        stdin=asyncio.subprocess.PIPE, stdout=log, stderr=log)
    return proc


async def wait_exit(proc, seconds):
    try:
        return await asyncio.wait_for(proc.wait(), seconds)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return None


def host_log(name):
    with open(os.path.join(WORK, f"{name}.log"), "rb") as f:
        return f.read().decode(errors="replace")


async def main():
    ep = Endpoint()
    app = web.Application()
    app.router.add_post("/redirect/whip", ep.redirect)
    app.router.add_post("/whip", ep.post)
    app.router.add_delete("/whip/sessions/{n}", ep.delete)
    app.router.add_delete("/sessions/{n}", ep.delete)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "192.0.2.1", 8080).start()

    # 1. A wrong token: 401, reported by the host as its result (exit 3), nothing to DELETE.
    proc = await start_host("wrong-token", "--whip-publish", URL + "/whip", "--token", "wrong",
                            "--duration", "5")
    rc = await wait_exit(proc, 20)
    text = host_log("wrong-token")
    check(rc == 3, f"wrong token: the host exits 3 after --duration (rc {rc})")
    refused = [l for l in ep.log if l == ("POST", "/whip", 401)]
    check(len(refused) >= 1, f"wrong token: {len(refused)} POST(s) refused with 401")
    check("publishing again in 6 s" in text, "wrong token: the host backs off (3 s, doubled)")
    check("Status(401)" in text, "wrong token: the host reports Status(401)")
    check(not any(m == "DELETE" for m, _, _ in ep.log), "wrong token: no DELETE (no session)")
    ep.log.clear()
    ep.auth_bad.clear()

    # 2. The real run: redirect, a broken answer, two sessions, stop.
    proc = await start_host("publish", "--whip-publish", URL + "/redirect/whip", "--token", TOKEN,
                            "--duration", "80")
    got = await next_item(ep.deleted, 20, "the broken answer's session is DELETEd")
    check(got == ("/sessions/1", 200),
          f"a 201 without a real answer: the client DELETEs its relative Location ({got})")
    for n, tag in ((2, "second"), (3, "third")):
        opened = await next_item(ep.opened, 20, f"{tag}: the app's data channel opens")
        if opened is None:
            break
        path, ch, pc = opened
        check(path == f"/whip/sessions/{n}", f"{tag}: session {path}")
        offer = ep.offers[n - 1]
        check("a=candidate:" in offer and "192.0.2.2 5000 typ host" in offer
              and "a=end-of-candidates" in offer,
              f"{tag}: the offer is complete (host candidate, a=end-of-candidates)")
        check("a=setup:actpass" in offer and "m=application" in offer,
              f"{tag}: the offer has a data channel section, setup actpass")
        await echo_check(tag, ch)
        check(("m=video" in offer and "m=audio" in offer) == (BUILD == "media"),
              f"{tag}: the offer has media sections exactly when the app is a media build ({BUILD})")
        if BUILD == "media":
            sections = offer.split("m=")[1:]
            check(all("a=sendonly" in m for m in sections if m.startswith(("video", "audio"))),
                  f"{tag}: the offer's audio and video sections are sendonly")
            await asyncio.sleep(2)
            video = ep.frames.get((path, "video"), [0, None])
            audio = ep.frames.get((path, "audio"), [0, None])
            print(f"{tag}: {video[0]} video frames ({video[1]}), {audio[0]} audio frames decoded",
                  flush=True)
            # The clip is 15 fps and the tone 50 frames/s; over the echo check and 2 s, at
            # least 2 s' worth of each (with slack for the first keyframe).
            check(video[0] >= 20 and video[1] == (320, 240),
                  f"{tag}: the device's VP8 clip decodes ({video[0]} frames, {video[1]})")
            check(audio[0] >= 60, f"{tag}: the device's G.711 tone decodes ({audio[0]} frames)")
        else:
            print(f"{tag}: a data-channel offer (the app built without media)", flush=True)
        check(pc.connectionState == "connected", f"{tag}: connectionState {pc.connectionState}")
        if n == 2:
            # The server ends the session: the app's Peer sees it close and DELETEs it.
            await pc.close()
            got = await next_item(ep.deleted, 45, "the closed session is DELETEd")
            check(got == (path, 200), f"{tag}: closed by the server, DELETEd by the app ({got})")
        else:
            # Shutdown: the app closes the Peer (aiortc sees it) and DELETEs the session.
            proc.stdin.write(b"stop\n")
            await proc.stdin.drain()
            got = await next_item(ep.deleted, 15, "the DELETE on shutdown")
            check(got == (path, 200),
                  f"{tag}: DELETE of the absolute Location on shutdown ({got})")
            for _ in range(50):
                if pc.connectionState != "connected":
                    break
                await asyncio.sleep(0.1)
            # aiortc may see the close_notify before or after the DELETE closed it here.
            check(pc.connectionState in ("closed", "failed"),
                  f"{tag}: aiortc's connection ended ({pc.connectionState})")
    rc = await wait_exit(proc, 20)
    check(rc == 0, f"publish: the host exits 0 after its DELETE (rc {rc})")
    text = host_log("publish")
    check("redirected (307)" in text, "publish: the host followed the 307")
    check("answer refused" in text, "publish: the host refused the broken answer")
    check(not ep.auth_bad, f"every request carried the bearer token ({ep.auth_bad})")
    redirects = sum(1 for l in ep.log if l == ("POST", "/redirect/whip", 307))
    deletes = [l for l in ep.log if l[0] == "DELETE"]
    print(f"endpoint: {ep.posts} offers, {redirects} redirects, DELETEs {deletes}", flush=True)
    check(ep.posts == 3 and redirects == 3, "three POSTs, each through the redirect")
    check([d[2] for d in deletes] == [200, 200, 200], "three DELETEs, all of known sessions")
    for pc in ep.sessions.values():
        if pc is not None:
            await pc.close()
    await runner.cleanup()
    for name in ("wrong-token", "publish"):
        print(f"--- host application log ({name}, tail)")
        print("\n".join(host_log(name).splitlines()[-15:]), flush=True)


asyncio.run(main())
print("endpoint: %d failure(s)" % len(failures), flush=True)
sys.exit(1 if failures else 0)
