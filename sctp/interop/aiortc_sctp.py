"""Interop: aiortc's SCTP stack (RTCSctpTransport, RTCDataChannel) against peerless-sctp.

SCTP packets travel as plain UDP datagrams on loopback instead of inside DTLS: a stand-in for
RTCDtlsTransport hands aiortc's packets to a socket and the socket's to aiortc. Everything above
that is aiortc's real code: INIT collision (both sides connect), cookies, DATA/SACK, DCEP, PPIDs,
fragmentation, stream reset.

usage: aiortc_sctp.py <client|server> <local port> <remote port> [loss]
With `loss` (0..1) the stand-in drops that share of datagrams in each direction, at random:
both stacks must recover (retransmissions, fast retransmit, T3, SACK gap reports).
The role is aiortc's DTLS role. aiortc opens "py-chan" and sends messages that peerless must echo;
it echoes what peerless sends on the channel peerless opens, and waits for peerless to close it.
"""
import asyncio
import random
import sys

from aiortc import RTCDataChannel, RTCDataChannelParameters, RTCSctpTransport
from aiortc.rtcsctptransport import RTCSctpCapabilities

SIZES = [1, 100, 1172, 1173, 5000, 65536, 0]


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


async def main(role, local, remote, loss):
    loop = asyncio.get_event_loop()
    standin = UdpDtlsStandIn(role, loss)
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Protocol(standin), local_addr=("127.0.0.1", local), remote_addr=("127.0.0.1", remote)
    )
    standin.udp = transport
    sctp = RTCSctpTransport(standin)
    done = loop.create_future()
    state = {"echoed": 0, "rust_messages": 0, "rust_closed": False, "partial": set()}

    def maybe_done():
        if state["echoed"] == len(SIZES) and state["rust_closed"] and not done.done():
            done.set_result(True)

    @sctp.on("datachannel")
    def on_datachannel(channel):
        print(f"aiortc: peer opened {channel.label!r} id {channel.id} protocol {channel.protocol!r}", flush=True)

        @channel.on("message")
        def on_message(msg):
            if channel.label == "rust-partial":
                index = int.from_bytes(msg[:4], "big")
                assert index not in state["partial"], f"partial message {index} twice"
                state["partial"].add(index)
                return
            state["rust_messages"] += 1
            channel.send(msg)

        @channel.on("close")
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
    def on_partial_open():
        for i in range(50):
            partial.send(i.to_bytes(4, "big") + bytes(196))

    @channel.on("open")
    def on_open():
        for i, size in enumerate(SIZES):
            data = message(i, 0x22)
            channel.send(data if i % 2 == 0 else data.decode("latin-1"))

    @channel.on("message")
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
    try:
        await asyncio.wait_for(done, 60)
    except asyncio.TimeoutError:
        print(f"aiortc: timeout {state}", flush=True)
        sys.exit(1)
    print(
        f"OK aiortc: {state['echoed']} echoes verified, {state['rust_messages']} peerless messages echoed, "
        f"{len(state['partial'])} partial messages received once each",
        flush=True,
    )
    # Stay a little to answer retransmissions of the last packets, then end with ABORT.
    await asyncio.sleep(1.0)
    await sctp.stop()
    transport.close()


if __name__ == "__main__":
    random.seed(7)
    loss = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), loss))
