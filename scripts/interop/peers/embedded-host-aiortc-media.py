# The aiortc receiver of scripts/interop/embedded-host-aiortc-media.sh, which says what it checks
# and runs it (through embedded-host-aiortc-media-netns.sh) inside the namespace:
#   python embedded-host-aiortc-media.py CLIP.ivf
import asyncio, hashlib, math, sys, time, urllib.error, urllib.request

import aioice.ice
# aioice lists only non-loopback addresses of the host; the namespace has exactly one, the
# kernel side of the TAP device (interop-notes.md, adapted).
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["192.0.2.1"]

import av
import numpy
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

BASE = "http://192.0.2.2:8080"
RECEIVE_SECONDS = 8.0  # past the clip's 4 s loop even after the PLI restarts it at 2 s
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def http(method, path, body=None, ctype=None):
    # No retry on a refused connection: the app keeps a second socket listening while the
    # last connection closes, and this test's back-to-back requests are what proves it.
    req = urllib.request.Request(BASE + path, data=body, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def luma_digest(frame):
    """The Y plane without stride padding: equal pictures, equal digests."""
    y = frame.to_ndarray(format="yuv420p")[: frame.height]
    return hashlib.sha256(numpy.ascontiguousarray(y).tobytes()).hexdigest()


def reference_pictures(path):
    """The clip's pictures as a decoder independent of the app makes them (PyAV/FFmpeg)."""
    with av.open(path) as c:
        frames = [f for f in c.decode(video=0)]
    return [luma_digest(f) for f in frames], (frames[0].width, frames[0].height)


async def consume(track, out):
    try:
        while True:
            out.append(await track.recv())
    except MediaStreamError:
        pass


def deltas(frames):
    return [(b.pts - a.pts) & 0xFFFFFFFF for a, b in zip(frames, frames[1:])]


async def main(clip):
    loop = asyncio.get_running_loop()
    refs, ref_size = reference_pictures(clip)
    print(f"reference: {len(refs)} pictures {ref_size[0]}x{ref_size[1]} from {clip}", flush=True)

    status, _, page = await loop.run_in_executor(None, http, "GET", "/")
    check(status == 200 and b"<video" in page and page.count(b'direction: "recvonly"') == 2,
          f"GET / serves the media page: a video element, recvonly video and audio ({status})")
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    ch = pc.createDataChannel("chat")
    video, audio, tasks, echoed = [], [], [], asyncio.Event()
    first_frame_at = {}

    @pc.on("track")
    def on_track(track):
        out = video if track.kind == "video" else audio
        tasks.append(asyncio.ensure_future(consume(track, out)))

    @ch.on("open")
    def on_open():
        ch.send("beside the media")

    @ch.on("message")
    def on_message(m):
        if m == "beside the media":
            echoed.set()

    await pc.setLocalDescription(await pc.createOffer())
    status, headers, body = await loop.run_in_executor(
        None, http, "POST", "/whip", pc.localDescription.sdp.encode(), "application/sdp")
    check(status == 201, f"POST /whip with recvonly audio+video+data answered 201 (got {status})")
    if status != 201:
        return
    answer = body.decode()
    print(f"answer: {len(answer)} bytes", flush=True)
    if "a=sendonly" not in answer or "PCMU/8000" not in answer or "VP8/90000" not in answer:
        print(answer, flush=True)
    check("a=sendonly" in answer and "VP8/90000" in answer and "PCMU/8000" in answer,
          "the answer sends VP8 and PCMU (sendonly)")
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    start = time.monotonic()
    while time.monotonic() - start < 15 and not (video and audio):
        await asyncio.sleep(0.05)
    t0 = time.monotonic()
    print(f"first frames after {t0 - start:.2f} s", flush=True)
    # A keyframe request mid-clip (aiortc sends PLIs only when its decoder needs one; this
    # is its own sender, a private method): the app must restart the clip at its keyframe.
    await asyncio.sleep(2.0)
    receiver = next(t.receiver for t in pc.getTransceivers() if t.kind == "video")
    sources = receiver.getSynchronizationSources()
    check(len(sources) == 1, f"video: one SSRC received ({len(sources)})")
    pli_at = len(video)
    if sources:
        await receiver._send_rtcp_pli(sources[0].source)
    await asyncio.sleep(RECEIVE_SECONDS - 2.0)
    elapsed = time.monotonic() - t0
    got_video, got_audio = list(video), list(audio)
    try:
        await asyncio.wait_for(echoed.wait(), 5)
    except asyncio.TimeoutError:
        pass
    check(echoed.is_set(), "a data-channel message is echoed beside the media")

    # Video: decoded, the clip's size, each picture one of the clip's, at 15 fps on 90 kHz.
    n = len(got_video)
    rate = n / elapsed if elapsed else 0
    print(f"video: {n} frames decoded in {elapsed:.1f} s ({rate:.1f} fps)", flush=True)
    check(n >= 0.6 * 15 * RECEIVE_SECONDS, f"video: {n} frames decoded (>= {int(0.6 * 15 * RECEIVE_SECONDS)})")
    sizes = {(f.width, f.height) for f in got_video}
    check(sizes == {ref_size}, f"video: every frame is {ref_size[0]}x{ref_size[1]} ({sizes})")
    digests = [luma_digest(f) for f in got_video]
    matched = sum(d in refs for d in digests)
    print(f"video: {matched}/{n} frames equal a picture of the clip", flush=True)
    check(n > 0 and matched >= 0.9 * n, f"video: {matched}/{n} decoded frames are the clip's pictures")
    # Pictures in clip order: after frame i comes frame i+1 (or the loop's frame 0).
    index = [refs.index(d) for d in digests if d in refs]
    steps = [(b - a) % len(refs) for a, b in zip(index, index[1:])]
    in_order = sum(s == 1 for s in steps)
    loops = sum(1 for a, b in zip(index, index[1:]) if b == 0 and a == len(refs) - 1)
    restarts = [i for i, (a, b) in enumerate(zip(index, index[1:])) if b == 0 and a != len(refs) - 1]
    print(f"video: {in_order}/{len(steps)} consecutive pictures in clip order, {loops} loop(s), "
          f"restart(s) at the keyframe after pictures {[index[i] for i in restarts]} "
          f"(PLI sent after frame {pli_at})", flush=True)
    check(steps and in_order >= 0.8 * len(steps), "video: pictures come in the clip's order")
    check(loops >= 1, "video: the clip looped (the keyframe again after the last frame)")
    check(len(restarts) == 1 and restarts[0] >= pli_at - 1,
          "video: the PLI restarted the clip at its keyframe, once, after it was sent")
    d = deltas(got_video)
    check(d and sorted(d)[len(d) // 2] == 6000,
          f"video: RTP time steps 6000 on the 90 kHz clock (median {sorted(d)[len(d) // 2] if d else None})")

    # Audio: 20 ms frames of a 500 Hz tone on the 8 kHz clock.
    n = len(got_audio)
    print(f"audio: {n} frames decoded in {elapsed:.1f} s", flush=True)
    check(n >= 0.6 * 50 * RECEIVE_SECONDS, f"audio: {n} frames decoded (>= {int(0.6 * 50 * RECEIVE_SECONDS)})")
    if got_audio:
        middle = got_audio[len(got_audio) // 2:][:10]
        f = middle[0]
        # aiortc may resample/duplicate channels: measure on the first channel at its rate.
        channels = len(f.layout.channels)
        pcm = numpy.concatenate([g.to_ndarray().reshape(-1)[::channels] for g in middle]).astype(numpy.float64)
        rms = math.sqrt(float(numpy.mean(pcm * pcm)))
        crossings = int(numpy.sum((pcm[:-1] < 0) & (pcm[1:] >= 0)))
        hz = crossings / (len(pcm) / f.sample_rate)
        print(f"audio: {len(middle)} frames of {f.samples} samples at {f.sample_rate} Hz, rms {rms:.0f}, "
              f"tone {hz:.0f} Hz", flush=True)
        check(abs(hz - 500) <= 10, f"audio: a 500 Hz tone ({hz:.0f} Hz)")
        check(4000 < rms < 7000, f"audio: the tone's level (rms {rms:.0f}, sine of 8000 gives 5657)")
        d = deltas(got_audio)
        step = sorted(d)[len(d) // 2] if d else None
        expected = 160 * got_audio[0].sample_rate // 8000
        check(step == expected, f"audio: RTP time steps {expected} (20 ms) (median {step})")

    status, _, _ = await loop.run_in_executor(None, http, "DELETE", "/whip/session")
    check(status == 200, f"DELETE /whip/session answered 200 (got {status})")
    await pc.close()
    for t in tasks:
        t.cancel()


asyncio.run(main(sys.argv[1]))
print("client: %d failure(s)" % len(failures), flush=True)
sys.exit(1 if failures else 0)
