# The aiortc side of scripts/interop/peer-aiortc.sh, which says what it checks and runs it:
#   python peer-aiortc.py CLI WORK
import asyncio, json, os, subprocess, sys

import aioice.ice
# aioice skips loopback when listing host addresses; inside the lo-only namespace that is all
# there is (interop-notes.md).
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

BIN, WORK = sys.argv[1], sys.argv[2]
COUNT, BIG = 100, 65536
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def messages():
    out = []
    for i in range(COUNT):
        if i == COUNT // 2:
            out.append(bytes((x * 7 + i) & 0xFF for x in range(BIG)))
        elif i % 2:
            out.append(bytes((x ^ i) & 0xFF for x in range(1 + (i * 53) % 2000)))
        else:
            out.append(f"aiortc message {i} ✓")
    return out


async def wait_file(path, timeout=20):
    for _ in range(int(timeout * 10)):
        if os.path.exists(path):
            with open(path) as f:
                text = f.read()
            try:
                return json.loads(text)
            except ValueError:
                pass
        await asyncio.sleep(0.1)
    raise TimeoutError(path)


def summary(path):
    with open(path) as f:
        return json.load(f)


async def we_offer():
    offer, answer, summ = (os.path.join(WORK, n) for n in ("o1.json", "a1.json", "s1.json"))
    cli = subprocess.Popen([BIN, "offer", "--json", "--offer-out", offer, "--answer-in", answer,
                            "--count", str(COUNT), "--big", str(BIG), "--duration", "40",
                            "--summary", summ])
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    opened, echoed = asyncio.Event(), [0]

    @pc.on("datachannel")
    def on_channel(ch):
        check(ch.label == "chat", f"aiortc got our channel '{ch.label}'")
        opened.set()

        @ch.on("message")
        def on_message(m):
            echoed[0] += 1
            ch.send(m)  # str stays str (text), bytes stay bytes (binary)

    o = await wait_file(offer)
    await pc.setRemoteDescription(RTCSessionDescription(o["sdp"], o["type"]))
    await pc.setLocalDescription(await pc.createAnswer())
    tmp = answer + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"type": "answer", "sdp": pc.localDescription.sdp}, f)
    os.rename(tmp, answer)
    rc = await asyncio.get_running_loop().run_in_executor(None, cli.wait)
    check(opened.is_set(), "our offer: the channel opened on aiortc's side")
    check(echoed[0] == COUNT, f"our offer: aiortc echoed {echoed[0]}/{COUNT} messages")
    check(rc == 0, f"our offer: the CLI checked every echo (exit {rc})")
    s = summary(summ)
    check(s["opened"] and s["echoed"] == COUNT, f"our offer: summary {s}")
    await pc.close()


async def they_offer():
    offer, answer, summ = (os.path.join(WORK, n) for n in ("o2.json", "a2.json", "s2.json"))
    cli = subprocess.Popen([BIN, "answer", "--json", "--greet", "--offer", offer,
                            "--answer-out", answer, "--duration", "40", "--summary", summ])
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    ch = pc.createDataChannel("chat")
    sent = messages()
    got, greeted, done = [], asyncio.Event(), asyncio.Event()

    @ch.on("open")
    def on_open():
        for m in sent:
            ch.send(m)

    @ch.on("message")
    def on_message(m):
        if m == "hello from peerless" and not greeted.is_set():
            greeted.set()
            return
        got.append(m)
        if len(got) == len(sent):
            done.set()

    await pc.setLocalDescription(await pc.createOffer())
    tmp = offer + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"type": "offer", "sdp": pc.localDescription.sdp}, f)
    os.rename(tmp, offer)
    a = await wait_file(answer)
    await pc.setRemoteDescription(RTCSessionDescription(a["sdp"], a["type"]))
    try:
        await asyncio.wait_for(done.wait(), 30)
    except asyncio.TimeoutError:
        pass
    check(greeted.is_set(), "their offer: our greeting arrived on aiortc's channel")
    check(len(got) == len(sent), f"their offer: {len(got)}/{len(sent)} echoes came back")
    check(got == sent, "their offer: every echo equals what was sent, text as text, binary as binary")
    await pc.close()
    rc = await asyncio.get_running_loop().run_in_executor(None, cli.wait)
    check(rc == 0, f"their offer: the CLI saw the channel open and echoed (exit {rc})")
    s = summary(summ)
    check(s["opened"] and s["received"] == COUNT and s["sent"] == COUNT + 1, f"their offer: summary {s}")


async def main():
    await we_offer()
    await they_offer()


asyncio.run(main())
if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("peer-aiortc: all checks passed")
