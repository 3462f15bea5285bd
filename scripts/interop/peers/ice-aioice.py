# The aioice side of scripts/interop/ice-aioice.sh, which runs it.
"""aioice (the ICE library under aiortc) against peerless's ICE agent, signalling through files.

Usage: ice-aioice.py <controlling|controlled> <dir>
Writes <dir>/peer.creds and <dir>/peer.cands, reads <dir>/rust.creds and <dir>/rust.cands,
connects, exchanges datagrams on the nominated pair both ways, writes <dir>/peer.done.
"""
import asyncio
import os
import sys

import aioice
import aioice.ice

# aioice skips loopback when listing host addresses; this test runs on loopback only.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


async def wait_file(path, timeout=20.0):
    for _ in range(int(timeout / 0.02)):
        if os.path.exists(path):
            return open(path).read()
        await asyncio.sleep(0.02)
    raise TimeoutError(path)


async def main(role, d):
    conn = aioice.Connection(ice_controlling=(role == "controlling"), components=1, stun_server=None, use_ipv6=False)
    await conn.gather_candidates()
    write_atomic(os.path.join(d, "peer.cands"), "".join("candidate:%s\n" % c.to_sdp() for c in conn.local_candidates))
    write_atomic(os.path.join(d, "peer.creds"), "%s %s\n" % (conn.local_username, conn.local_password))

    creds = (await wait_file(os.path.join(d, "rust.creds"))).split()
    conn.remote_username, conn.remote_password = creds[0], creds[1]
    for line in (await wait_file(os.path.join(d, "rust.cands"))).splitlines():
        line = line.strip()
        if line:
            sdp = line[len("candidate:"):] if line.startswith("candidate:") else line
            await conn.add_remote_candidate(aioice.Candidate.from_sdp(sdp))
            print("aioice: remote", sdp, flush=True)
    await conn.add_remote_candidate(None)  # end-of-candidates

    await asyncio.wait_for(conn.connect(), 20)
    pair = conn._nominated.get(1)
    print("aioice: connected, nominated", pair, flush=True)

    got = None
    for _ in range(50):
        await conn.send(b"ping from aioice")
        try:
            data = await asyncio.wait_for(conn.recv(), 0.2)
        except asyncio.TimeoutError:
            continue
        if data == b"ping from rust":
            got = data
            break
    # Keep answering (consent, data) for a moment so the other side sees ours too.
    for _ in range(5):
        await conn.send(b"ping from aioice")
        await asyncio.sleep(0.05)
    write_atomic(os.path.join(d, "peer.done"), "done\n")
    await asyncio.sleep(0.3)
    await conn.close()
    if got is None:
        print("aioice: FAILED: no data from rust on the nominated pair", flush=True)
        sys.exit(1)
    print("aioice: OK: received %r on the nominated pair" % got, flush=True)


asyncio.run(main(sys.argv[1], sys.argv[2]))
