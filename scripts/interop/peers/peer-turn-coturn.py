# The aiortc side of scripts/interop/peer-turn-coturn.sh, which says what it checks and runs it:
#   python peer-turn-coturn.py CLI WORK TURN_URL
import asyncio, json, os, subprocess, sys

import aioice.ice
# aioice skips loopback when listing host addresses; inside the lo-only namespace that is all
# there is (interop-notes.md).
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]

from aiortc import (RTCConfiguration, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnection,
                    RTCSessionDescription)

BIN, WORK, URL = sys.argv[1], sys.argv[2], sys.argv[3]
USER, SECRET = "alice", "secret"
COUNT, BIG = 40, 30000
TCP_URL = URL.replace("transport=udp", "transport=tcp")
ICE = ["--ice-server", URL, "--ice-username", USER, "--ice-credential", SECRET]
ICE_TCP = ["--ice-server", TCP_URL, "--ice-username", USER, "--ice-credential", SECRET]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def relay_only_pc(url=URL):
    return RTCPeerConnection(RTCConfiguration(
        iceServers=[RTCIceServer(urls=url, username=USER, credential=SECRET)],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY))


def candidate_types(sdp):
    return sorted({l.split(" typ ")[1].split()[0] for l in sdp.splitlines()
                   if l.startswith("a=candidate:")})


async def wait_file(path, timeout=25):
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


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.rename(tmp, path)


def summary(path):
    with open(path) as f:
        return json.load(f)


async def we_offer(tag, cli_args, want_types, their_url=URL):
    """The CLI offers (channel "chat", COUNT messages), aiortc (relay only) answers and echoes."""
    offer, answer, summ = (os.path.join(WORK, f"{tag}-{n}") for n in ("o.json", "a.json", "s.json"))
    cli = subprocess.Popen([BIN, "offer", "--json", "--offer-out", offer, "--answer-in", answer,
                            "--count", str(COUNT), "--big", str(BIG), "--duration", "40",
                            "--summary", summ] + cli_args)
    pc = relay_only_pc(their_url)
    opened, echoed = asyncio.Event(), [0]

    @pc.on("datachannel")
    def on_channel(ch):
        opened.set()

        @ch.on("message")
        def on_message(m):
            echoed[0] += 1
            ch.send(m)

    o = await wait_file(offer)
    ours = candidate_types(o["sdp"])
    print(f"     {tag}: our offer's candidate types {ours}")
    if "--relay-only" in cli_args:
        check(ours == ["relay"], f"{tag}: our relay-only offer signals relayed candidates only")
    await pc.setRemoteDescription(RTCSessionDescription(o["sdp"], o["type"]))
    await pc.setLocalDescription(await pc.createAnswer())
    check(candidate_types(pc.localDescription.sdp) == ["relay"],
          f"{tag}: aiortc's answer signals relayed candidates only")
    write_json(answer, {"type": "answer", "sdp": pc.localDescription.sdp})
    rc = await asyncio.get_running_loop().run_in_executor(None, cli.wait)
    check(opened.is_set(), f"{tag}: the channel opened on aiortc's side")
    check(echoed[0] == COUNT, f"{tag}: aiortc echoed {echoed[0]}/{COUNT} messages")
    check(rc == 0, f"{tag}: the CLI checked every echo (exit {rc})")
    s = summary(summ)
    print(f"     {tag}: open_ms={s['open_ms']} selected_pair={s['selected_pair']} "
          f"selected_types={s['selected_types']}")
    check(s["opened"] and s["echoed"] == COUNT, f"{tag}: the summary says opened and all echoed")
    check(s["selected_types"] == want_types, f"{tag}: selected types {s['selected_types']} == {want_types}")
    await pc.close()


async def they_offer(tag):
    """aiortc (relay only) offers and sends COUNT messages; the CLI (relay only) echoes."""
    offer, answer, summ = (os.path.join(WORK, f"{tag}-{n}") for n in ("o.json", "a.json", "s.json"))
    cli = subprocess.Popen([BIN, "answer", "--json", "--greet", "--offer", offer,
                            "--answer-out", answer, "--duration", "40", "--summary", summ,
                            "--relay-only"] + ICE)
    pc = relay_only_pc()
    ch = pc.createDataChannel("chat")
    sent = [f"through coturn {i}" if i % 2 else bytes([i]) * (1 + i * 37) for i in range(COUNT)]
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
    write_json(offer, {"type": "offer", "sdp": pc.localDescription.sdp})
    a = await wait_file(answer)
    check(candidate_types(a["sdp"]) == ["relay"], f"{tag}: our relay-only answer signals relayed candidates only")
    await pc.setRemoteDescription(RTCSessionDescription(a["sdp"], a["type"]))
    try:
        await asyncio.wait_for(done.wait(), 30)
    except asyncio.TimeoutError:
        pass
    check(greeted.is_set(), f"{tag}: our greeting arrived through the relay")
    check(got == sent, f"{tag}: {len(got)}/{len(sent)} echoes came back equal")
    await pc.close()
    rc = await asyncio.get_running_loop().run_in_executor(None, cli.wait)
    check(rc == 0, f"{tag}: the CLI saw the channel open and echoed (exit {rc})")
    s = summary(summ)
    print(f"     {tag}: open_ms={s['open_ms']} selected_pair={s['selected_pair']} "
          f"selected_types={s['selected_types']}")
    check(s["selected_types"] == ["relay", "relay"], f"{tag}: selected types {s['selected_types']}")


async def main():
    # Both relay only: every datagram crosses coturn twice.
    await we_offer("offer-relay", ICE + ["--relay-only"], ["relay", "relay"])
    await they_offer("answer-relay")
    # We gather everything, aiortc only relays: our host socket talks to aiortc's relayed
    # address (the browsers' "host, relay").
    await we_offer("offer-all", ICE, ["host", "relay"])
    # Both relay only, both over TCP to coturn (RFC 8656 §3.1 framing on the stream).
    await we_offer("offer-tcp", ICE_TCP + ["--relay-only"], ["relay", "relay"], TCP_URL)


asyncio.run(main())
if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("peer-turn-coturn: all checks passed")
