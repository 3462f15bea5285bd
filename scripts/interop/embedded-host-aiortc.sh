#!/usr/bin/env bash
# The embassy application (examples-embedded/embassy) against aiortc, over a TAP device:
# the same no_std code that runs on the boards, on embassy-executor platform-std with
# embassy-net's own TCP/IP stack behind a TAP device, inside a fresh network namespace whose
# only interfaces are lo and that TAP device (192.0.2.0/24, TEST-NET-1, exists only there).
#
#   aiortc (kernel, 192.0.2.1) --POST /whip offer--> app (embassy-net, 192.0.2.2:8080)
#                              <--201 answer--------
#                              ==ICE/DTLS/SCTP UDP==> app :5000, echoes every message
#
# Checks: GET / serves the demo page; a non-SDP POST gets 415 and a broken offer 400; three
# sessions, the first closed by aiortc before the second, the third offered while the second
# is still connected (its offer replaces the running Peer), the third ended by a WHIP DELETE
# of the session URL; each echoes text and binary messages (one exactly as large as the
# app's a=max-message-size) in order, byte for byte.
. "$(dirname "$0")/../lib.sh"

section "embassy application on a TAP device: interop with aiortc"
need_apt iproute2 util-linux python3-venv
need_pip aiortc

EMB="$ROOT/examples-embedded/embassy"
export CARGO_TARGET_DIR="${EMBASSY_TARGET_DIR:-$ROOT/target/embassy}"
(cd "$EMB" && cargo build -q --profile host -p peerless-embassy-host)
BIN="$CARGO_TARGET_DIR/host/peerless-embassy-host"
[ -x "$BIN" ] || { echo "host application not built at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cat > "$WORK/client.py" <<'PY'
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


async def session(tag, count):
    loop = asyncio.get_running_loop()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
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
    check(mms == [4096], f"{tag}: the app announces a=max-message-size:4096 ({mms})")
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


asyncio.run(main())
print("client: %d failure(s)" % len(failures), flush=True)
sys.exit(1 if failures else 0)
PY

cat > "$WORK/inside.sh" <<'SH'
set -eu
BIN=$1 WORK=$2 PY=$3
ip tuntap add dev tap0 mode tap
ip addr add 192.0.2.1/24 dev tap0
ip link set tap0 up
# Nothing here may leave the namespace: no default route, only lo and tap0.
"$BIN" --tap tap0 --address 192.0.2.2/24 --duration 120 >"$WORK/host.log" 2>&1 &
host=$!
for _ in $(seq 50); do
    (exec 3<>/dev/tcp/192.0.2.2/8080) 2>/dev/null && break
    sleep 0.1
done
rc=0
timeout 110 "$PY" "$WORK/client.py" || rc=$?
kill "$host" 2>/dev/null || true
wait "$host" 2>/dev/null || true
echo "--- host application log (tail)"
tail -n 25 "$WORK/host.log"
if ! grep -q "a new offer replaces the session" "$WORK/host.log"; then
    echo "FAIL the third offer did not replace the running session" >&2
    rc=1
fi
if ! grep -q "session deleted" "$WORK/host.log"; then
    echo "FAIL the DELETE did not end the session" >&2
    rc=1
fi
exit $rc
SH

start=$SECONDS
in_netns bash "$WORK/inside.sh" "$BIN" "$WORK" "$VENV/bin/python"
echo "embedded-host-aiortc: ok ($((SECONDS - start)) s)"
