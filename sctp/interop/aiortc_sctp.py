"""Interop: aiortc's SCTP stack (RTCSctpTransport, RTCDataChannel) against peerless-sctp.

SCTP packets travel as plain UDP datagrams on loopback instead of inside DTLS: a stand-in for
RTCDtlsTransport hands aiortc's packets to a socket and the socket's to aiortc. Everything above
that is aiortc's real code: INIT collision (both sides connect), cookies, DATA/SACK, DCEP, PPIDs,
fragmentation, stream reset.

usage: aiortc_sctp.py <client|server> <local port> <remote port> [loss] [channels]
With `loss` (0..1) the stand-in drops that share of datagrams in each direction, at random:
both stacks must recover (retransmissions, fast retransmit, T3, SACK gap reports).
The role is aiortc's DTLS role. aiortc opens "py-chan" and sends messages that peerless must echo;
it echoes what peerless sends on the channel peerless opens, and waits for peerless to close it.
aiortc always sends INIT; peerless may (collision) or may not (then it is the SCTP server).

With `channels` it runs the bulk-close check instead: aiortc opens CHANNELS channels, and once
peerless's CHANNELS channels are open too it closes all of its own at once (one RE-CONFIG
request, as aiortc batches up to 135 streams); every one of the 2 x CHANNELS channels must
close on both sides.

Any failed check, in the main flow or inside an event handler (which aiortc would otherwise
only log), ends the run with a non-zero exit status.
"""
import asyncio
import functools
import random
import sys
import traceback

from aiortc import RTCDataChannel, RTCDataChannelParameters, RTCSctpTransport
from aiortc.rtcsctptransport import RTCSctpCapabilities

SIZES = [1, 100, 1172, 1173, 5000, 65536, 0]
CHANNELS = 100

FAILURES = []


def fail(error):
    """Records a failure; main() exits non-zero once it sees one."""
    FAILURES.append(error)
    print(f"aiortc: FAILED: {error!r}", flush=True)


def guard(handler):
    """Event handlers run inside aiortc's tasks, which only log what they raise: record it."""

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - any failure fails the run
            traceback.print_exc()
            fail(e)

    return wrapper


def on_loop_exception(loop, context):
    """An exception no task retrieved (aiortc's own or ours): the run fails."""
    loop.default_exception_handler(context)
    fail(context.get("exception") or context.get("message"))


def message(index, salt):
    """Binary (even index) with every byte value, or ASCII text (odd index)."""
    size = SIZES[index]
    if index % 2 == 0:
        return bytes(((i * 7) & 0xFF) ^ salt for i in range(size))
    return bytes(ord("a") + (i + salt) % 26 for i in range(size))


class UdpDtlsStandIn:
    """The parts of RTCDtlsTransport that RTCSctpTransport uses."""

    def __init__(self, role, loss):
        self._role = role
        self.loss = loss
        self.state = "connected"
        self.receiver = None
        self.udp = None

    def _register_data_receiver(self, receiver):
        self.receiver = receiver

    def _unregister_data_receiver(self, receiver):
        self.receiver = None

    async def _send_data(self, data):
        if random.random() >= self.loss:
            self.udp.sendto(data)


class Protocol(asyncio.DatagramProtocol):
    def __init__(self, standin):
        self.standin = standin

    def datagram_received(self, data, addr):
        if self.standin.receiver is not None and random.random() >= self.standin.loss:
            asyncio.ensure_future(self.standin.receiver._handle_data(data))


async def wait_done(done, state, seconds):
    """Waits for `done` or a failure, whichever comes first."""
    deadline = asyncio.get_event_loop().time() + seconds
    while not done.done() and not FAILURES:
        if asyncio.get_event_loop().time() > deadline:
            fail(f"timeout {state}")
            break
        await asyncio.sleep(0.05)
    if FAILURES:
        sys.exit(1)


async def main(role, local, remote, loss, mode):
    loop = asyncio.get_event_loop()
    loop.set_exception_handler(on_loop_exception)
    standin = UdpDtlsStandIn(role, loss)
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Protocol(standin), local_addr=("127.0.0.1", local), remote_addr=("127.0.0.1", remote)
    )
    standin.udp = transport
    sctp = RTCSctpTransport(standin)
    if mode == "channels":
        await bulk_close(sctp, transport)
        return
    done = loop.create_future()
    state = {"echoed": 0, "rust_messages": 0, "rust_closed": False, "partial": set()}

    def maybe_done():
        if state["echoed"] == len(SIZES) and state["rust_closed"] and not done.done():
            done.set_result(True)

    @sctp.on("datachannel")
    @guard
    def on_datachannel(channel):
        print(f"aiortc: peer opened {channel.label!r} id {channel.id} protocol {channel.protocol!r}", flush=True)

        @channel.on("message")
        @guard
        def on_message(msg):
            if channel.label == "rust-partial":
                index = int.from_bytes(msg[:4], "big")
                assert index not in state["partial"], f"partial message {index} twice"
                state["partial"].add(index)
                return
            state["rust_messages"] += 1
            channel.send(msg)

        @channel.on("close")
        @guard
        def on_close():
            print("aiortc: peer's channel closed", flush=True)
            state["rust_closed"] = True
            maybe_done()

    channel = RTCDataChannel(sctp, RTCDataChannelParameters(label="py-chan", protocol="echo"))

    # Partially reliable, ordered, no retransmissions: peerless must take our FORWARD-TSNs.
    partial = RTCDataChannel(
        sctp, RTCDataChannelParameters(label="py-partial", ordered=True, maxRetransmits=0)
    )

    @partial.on("open")
    @guard
    def on_partial_open():
        for i in range(50):
            partial.send(i.to_bytes(4, "big") + bytes(196))

    @channel.on("open")
    @guard
    def on_open():
        for i, size in enumerate(SIZES):
            data = message(i, 0x22)
            channel.send(data if i % 2 == 0 else data.decode("latin-1"))

    @channel.on("message")
    @guard
    def on_message(msg):
        i = state["echoed"]
        want = message(i, 0x22)
        got = msg if isinstance(msg, bytes) else msg.encode("latin-1")
        assert (i % 2 == 0) == isinstance(msg, bytes), f"echo {i}: wrong type {type(msg)}"
        assert got == want, f"echo {i} differs ({len(got)} vs {len(want)} bytes)"
        state["echoed"] += 1
        print(f"aiortc: echo {state['echoed']}/{len(SIZES)} ok ({len(got)} bytes)", flush=True)
        maybe_done()

    await sctp.start(RTCSctpCapabilities(maxMessageSize=262144), 5000)
    await wait_done(done, state, 60)
    print(
        f"OK aiortc: {state['echoed']} echoes verified, {state['rust_messages']} peerless messages echoed, "
        f"{len(state['partial'])} partial messages received once each",
        flush=True,
    )
    # Stay a little to answer retransmissions of the last packets, then end with ABORT.
    await asyncio.sleep(1.0)
    if FAILURES:
        sys.exit(1)
    await sctp.stop()
    transport.close()


async def bulk_close(sctp, transport):
    """CHANNELS channels each way; each side closes all of its own at once."""
    loop = asyncio.get_event_loop()
    done = loop.create_future()
    state = {"ours_open": 0, "theirs": 0, "closed": set(), "closing": False}
    ours = []

    def check():
        if len(state["closed"]) == 2 * CHANNELS and not done.done():
            done.set_result(True)

    def maybe_close():
        # Close ours once all of ours are open and all of peerless's have arrived.
        if not state["closing"] and state["ours_open"] == CHANNELS and state["theirs"] == CHANNELS:
            state["closing"] = True
            print(f"aiortc: all {2 * CHANNELS} channels open: closing our {CHANNELS} at once", flush=True)
            for channel in ours:
                channel.close()

    @sctp.on("datachannel")
    @guard
    def on_datachannel(channel):
        assert channel.label.startswith("rust-"), channel.label
        state["theirs"] += 1

        @channel.on("close")
        @guard
        def on_close():
            assert channel.id not in state["closed"], f"channel {channel.id} closed twice"
            state["closed"].add(channel.id)
            check()

        maybe_close()

    for i in range(CHANNELS):
        channel = RTCDataChannel(sctp, RTCDataChannelParameters(label=f"py-{i}"))
        ours.append(channel)

        def bind(channel):
            @channel.on("open")
            @guard
            def on_open():
                state["ours_open"] += 1
                maybe_close()

            @channel.on("close")
            @guard
            def on_close():
                assert channel.id not in state["closed"], f"channel {channel.id} closed twice"
                state["closed"].add(channel.id)
                check()

        bind(channel)

    await sctp.start(RTCSctpCapabilities(maxMessageSize=262144), 5000)
    await wait_done(done, state, 60)
    print(f"OK aiortc: {len(state['closed'])} channels closed ({CHANNELS} by us, {CHANNELS} by peerless, all at once)", flush=True)
    await asyncio.sleep(1.0)
    if FAILURES:
        sys.exit(1)
    await sctp.stop()
    transport.close()


if __name__ == "__main__":
    random.seed(7)
    extra = sys.argv[4:]
    mode = "channels" if "channels" in extra else "echo"
    numbers = [a for a in extra if a != "channels"]
    loss = float(numbers[0]) if numbers else 0.0
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), loss, mode))
