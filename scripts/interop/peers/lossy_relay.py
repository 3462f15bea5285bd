#!/usr/bin/env python3
"""A UDP relay between two WebRTC peers that loses a fraction of the datagrams each way.

    peer A  <-->  127.0.0.1:A_PORT  [relay]  127.0.0.1:B_PORT  <-->  peer B (--b-target)

Each peer is told the relay's address instead of the other's (the candidate in the SDP it is
handed is rewritten to A_PORT or B_PORT), so everything between them crosses the relay: ICE
checks, DTLS, SCTP, SRTP and SRTCP. A's address is learned from the first datagram that
reaches A_PORT; until then what B sends is dropped (ICE sends its checks again). Each way
drops datagrams with probability --loss, from its own RNG seeded with --seed, so a run's
losses depend only on the order of the datagrams. It stops after --duration seconds, or on
SIGTERM, and prints what it forwarded and dropped as one JSON line (to --stats as well).

    python lossy_relay.py --a-port P --b-port Q --b-target 127.0.0.1:R --loss 0.05 --seed 1
"""
import argparse
import json
import random
import selectors
import signal
import socket
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a-port", type=int, required=True, help="where peer A sends")
    ap.add_argument("--b-port", type=int, required=True, help="where peer B sends")
    ap.add_argument("--b-target", required=True, help="peer B's address, host:port")
    ap.add_argument("--loss", type=float, default=0.05, help="fraction dropped each way")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--stats", help="also write the final counts here (JSON)")
    args = ap.parse_args()
    host, port = args.b_target.rsplit(":", 1)
    b_addr = (host, int(port))
    # Loopback only: the relay exists for tests inside a lo-only namespace.
    assert host.startswith("127."), "the relay only forwards to loopback addresses"

    side_a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    side_a.bind(("127.0.0.1", args.a_port))
    side_b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    side_b.bind(("127.0.0.1", args.b_port))
    rng = {"a->b": random.Random(args.seed), "b->a": random.Random(args.seed + 1)}
    counts = {way: {"forwarded": 0, "dropped": 0} for way in rng}
    a_addr = None
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    sel = selectors.DefaultSelector()
    sel.register(side_a, selectors.EVENT_READ, "a->b")
    sel.register(side_b, selectors.EVENT_READ, "b->a")
    print(f"relay: A -> 127.0.0.1:{args.a_port}, B {b_addr} <- 127.0.0.1:{args.b_port}, "
          f"loss {args.loss} each way, seed {args.seed}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + args.duration
    while not stop[0] and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            way = key.data
            try:
                data, src = key.fileobj.recvfrom(65536)
            except OSError:  # ICMP unreachable from an earlier send: loss
                continue
            if way == "a->b":
                a_addr = src
                out, dst = side_b, b_addr
            elif a_addr is None:
                counts[way]["dropped"] += 1
                continue
            else:
                out, dst = side_a, a_addr
            if rng[way].random() < args.loss:
                counts[way]["dropped"] += 1
                continue
            try:
                out.sendto(data, dst)
                counts[way]["forwarded"] += 1
            except OSError:
                counts[way]["dropped"] += 1
    line = json.dumps({"loss": args.loss, "seed": args.seed, **counts})
    print(f"relay: {line}", file=sys.stderr, flush=True)
    if args.stats:
        with open(args.stats, "w") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
