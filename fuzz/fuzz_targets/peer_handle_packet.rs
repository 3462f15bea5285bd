//! The Peer fed arbitrary datagrams (STUN, DTLS, SRTP, anything) in every signalling state,
//! arbitrary SDP and candidate text, and a connected pair driven by the input: it must never
//! panic, and every transmit it produces must fit the buffer it was given.
//!
//! ```text
//!  once per process:  certificates -> fresh Peer -> offer applied -> answered -> connected
//!                     pair (handshake, SCTP, one open channel): each state kept
//!  per input:         clone the state the first byte picks (no key generation, no
//!                     signature, no ECDH: the clone is plain data), then run the input
//!  mode % 5:  0 fresh   1 offered   2 answered   (each: 2-byte length + datagram, repeated)
//!             3 arbitrary signalling text
//!             4 the connected pair: op bytes send, open, close, inject, advance time,
//!               and edit every datagram between the two in flight (pass, drop,
//!               duplicate, hold back, flip a bit, truncate)
//! ```
//!
//! Cloning is there only under cargo-fuzz's `--cfg fuzzing` (a cloned Peer in a product would
//! reuse its nonces).
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerless::{
    ChannelId, ChannelInit, Event, MessageKind, Peer, Reliability, SdpType, SmallPeer, selftest,
};
use peerless_base::Instant;

type P = SmallPeer<Box<[u8]>>;

fn area() -> Box<[u8]> {
    vec![0u8; 8192].into_boxed_slice()
}

struct Prepared {
    fresh: P,
    offered: P,
    answered: P,
    /// (offerer, answerer, the virtual time they reached, the channel on each side)
    connected: (P, P, Instant, ChannelId, ChannelId),
}

fn drain_events(p: &mut P) {
    while p.poll_event().is_some() {}
}

/// Moves every datagram between the two once; returns how many moved.
fn pump(
    a: &mut P,
    b: &mut P,
    now: Instant,
    edit: &mut impl FnMut(&mut Vec<u8>) -> u8,
    held: &mut Option<(bool, Vec<u8>)>,
) -> usize {
    let mut out = [0u8; 1500];
    let mut moved = 0;
    for to_b in [true, false] {
        let (from, to) = if to_b {
            (&mut *a, &mut *b)
        } else {
            (&mut *b, &mut *a)
        };
        let mut flight = Vec::new();
        while let Ok(Some(t)) = from.poll_transmit(&mut out) {
            assert!(t.payload.len() <= 1500);
            flight.push((t.source, t.destination, t.payload.to_vec()));
        }
        for (src, dst, mut d) in flight {
            moved += 1;
            // 0 pass, 1 drop, 2 duplicate, 3 hold back (swap with the held one).
            match edit(&mut d) {
                1 => {}
                2 => {
                    to.handle_packet(now, src, dst, &mut d.clone());
                    to.handle_packet(now, src, dst, &mut d);
                }
                3 => {
                    if let Some((dir, mut old)) = held.replace((to_b, d)) {
                        if dir == to_b {
                            to.handle_packet(now, src, dst, &mut old);
                        }
                    }
                }
                _ => to.handle_packet(now, src, dst, &mut d),
            }
        }
    }
    moved
}

fn prepare() -> Prepared {
    let (ca, cb) = selftest::certificates().expect("selftest certificates");
    let mut remote: P = Peer::new(selftest::config(ca, 1), Instant::ZERO, area(), area());
    let mut fresh: P = Peer::new(selftest::config(cb, 2), Instant::ZERO, area(), area());
    let channel = remote
        .create_data_channel("fuzz", Default::default())
        .expect("channel");
    remote
        .add_local_candidate(selftest::OFFERER)
        .expect("candidate");
    fresh
        .add_local_candidate(selftest::ANSWERER)
        .expect("candidate");
    let mut sdp = [0u8; 2048];
    let offer = remote.create_offer(&mut sdp).expect("offer").to_owned();
    remote
        .set_local_description(SdpType::Offer, &offer)
        .expect("local offer");
    let mut offered = fresh.clone();
    offered
        .set_remote_description(SdpType::Offer, &offer)
        .expect("remote offer");
    let mut answered = offered.clone();
    let answer = answered.create_answer(&mut sdp).expect("answer").to_owned();
    answered
        .set_local_description(SdpType::Answer, &answer)
        .expect("local answer");
    let mut b = answered.clone();
    let mut a = remote;
    a.set_remote_description(SdpType::Answer, &answer)
        .expect("remote answer");
    // Connect for real, once: ICE, DTLS (the only public-key work), SCTP, the channel's DCEP.
    let mut now = Instant::ZERO;
    let mut held = None;
    let mut theirs = None;
    for _ in 0..2000 {
        let moved = pump(&mut a, &mut b, now, &mut |_: &mut Vec<u8>| 0, &mut held);
        drain_events(&mut a);
        while let Some(ev) = b.poll_event() {
            if let Event::ChannelOpen { channel, .. } = ev {
                theirs = Some(channel);
            }
        }
        if a.is_open(channel) && theirs.is_some() && moved == 0 {
            break;
        }
        if moved == 0 {
            let next = [a.poll_timeout(), b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            now = next.map_or(now, |t| t.max(now));
            a.handle_timeout(now);
            b.handle_timeout(now);
        }
    }
    assert!(a.is_open(channel), "the prepared pair did not connect");
    let theirs = theirs.expect("the answerer saw the channel open");
    Prepared {
        fresh,
        offered,
        answered,
        connected: (a, b, now, channel, theirs),
    }
}

thread_local! {
    static PREPARED: Prepared = prepare();
}

fn datagrams(peer: &mut P, mut rest: &[u8]) {
    let mut now = Instant::ZERO;
    let mut out = [0u8; 1500];
    // Datagrams: 2-byte length, then the bytes.
    while rest.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]])) % 1500;
        let Some((datagram, tail)) = rest.get(2..).map(|r| r.split_at(n.min(r.len()))) else {
            break;
        };
        rest = tail;
        let mut d = datagram.to_vec();
        peer.handle_packet(now, selftest::OFFERER, selftest::ANSWERER, &mut d);
        now = Instant::from_micros(now.as_micros() + 20_000);
        peer.handle_timeout(now);
        while let Ok(Some(t)) = peer.poll_transmit(&mut out) {
            assert!(t.payload.len() <= 1500);
        }
        drain_events(peer);
    }
}

/// The connected pair under the input's ops.
fn connected(
    a: &mut P,
    b: &mut P,
    mut now: Instant,
    (ours, theirs): (ChannelId, ChannelId),
    input: &[u8],
) {
    let mut ops = input.iter().copied();
    let mut channels_a = vec![ours];
    let mut channels_b = vec![theirs];
    let mut held = None;
    while let Some(op) = ops.next() {
        let arg = ops.next().unwrap_or(0);
        match op % 8 {
            // A message from either side on one of its channels, of a length the input picks
            // (the bytes are the rest of the input, repeated).
            0 | 1 => {
                let (peer, list) = if op % 8 == 0 {
                    (&mut *a, &channels_a)
                } else {
                    (&mut *b, &channels_b)
                };
                if let Some(&ch) = list.get(usize::from(arg) % list.len().max(1)) {
                    let len = usize::from(ops.next().unwrap_or(0)) * 37;
                    let body: Vec<u8> = input.iter().copied().cycle().take(len).collect();
                    let kind = if arg & 0x80 != 0 {
                        MessageKind::Text
                    } else {
                        MessageKind::Binary
                    };
                    let _ = peer.send(ch, kind, &body);
                }
            }
            // A new channel from either side, with the input's reliability and order.
            2 => {
                let mut init = ChannelInit::default();
                init.options.ordered = arg & 1 == 0;
                init.options.reliability = match arg >> 1 & 3 {
                    0 => Reliability::Reliable,
                    1 => Reliability::MaxRetransmits(u16::from(arg >> 3)),
                    _ => Reliability::MaxLifetime(u32::from(arg >> 3) * 10),
                };
                let label = if arg & 0x40 != 0 { "b" } else { "a" };
                if arg & 0x80 == 0 {
                    if let Ok(ch) = a.create_data_channel(label, init) {
                        channels_a.push(ch);
                    }
                } else if let Ok(ch) = b.create_data_channel(label, init) {
                    channels_b.push(ch);
                }
            }
            3 => {
                let list = if arg & 1 == 0 {
                    &mut channels_a
                } else {
                    &mut channels_b
                };
                if !list.is_empty() {
                    let ch = list.remove(usize::from(arg >> 1) % list.len());
                    let _ = if arg & 1 == 0 {
                        a.close_channel(ch)
                    } else {
                        b.close_channel(ch)
                    };
                }
            }
            // A raw datagram into either side.
            4 => {
                let n = usize::from(ops.next().unwrap_or(0)) * 6;
                let mut d: Vec<u8> = ops.by_ref().take(n).collect();
                if arg & 1 == 0 {
                    b.handle_packet(now, selftest::OFFERER, selftest::ANSWERER, &mut d);
                } else {
                    a.handle_packet(now, selftest::ANSWERER, selftest::OFFERER, &mut d);
                }
            }
            // Time passes (up to 25 s: retransmissions, heartbeats, consent).
            5 => {
                now = Instant::from_micros(now.as_micros() + u64::from(arg) * 100_000);
                a.handle_timeout(now);
                b.handle_timeout(now);
            }
            6 if arg == 0xff => {
                if op & 0x80 == 0 {
                    a.close();
                } else {
                    b.close();
                }
            }
            // Everything in flight, each datagram edited by the next op byte.
            _ => {}
        }
        let mut edit = |d: &mut Vec<u8>| {
            let e = ops.next().unwrap_or(0);
            match e % 8 {
                4 if !d.is_empty() => {
                    let i = usize::from(ops.next().unwrap_or(0)) * 7 % d.len();
                    d[i] ^= 1 << (e >> 5);
                    0
                }
                5 => {
                    d.truncate(usize::from(ops.next().unwrap_or(0)) * 5 % (d.len() + 1));
                    0
                }
                e @ 1..=3 => e,
                _ => 0,
            }
        };
        pump(a, b, now, &mut edit, &mut held);
        for (peer, list) in [(&mut *a, &mut channels_a), (&mut *b, &mut channels_b)] {
            while let Some(ev) = peer.poll_event() {
                if let Event::ChannelOpen { channel, .. } = ev {
                    if !list.contains(&channel) {
                        list.push(channel);
                    }
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    PREPARED.with(|p| match mode % 5 {
        // Before any description: early DTLS is stashed, STUN is checked against our ufrag.
        0 => datagrams(&mut p.fresh.clone(), rest),
        // Offer applied, no answer yet.
        1 => datagrams(&mut p.offered.clone(), rest),
        // Answered (we are the DTLS client), the transport running.
        2 => datagrams(&mut p.answered.clone(), rest),
        // Arbitrary signalling text.
        3 => {
            if let Ok(text) = core::str::from_utf8(rest) {
                let mut peer = p.fresh.clone();
                let mut sdp = [0u8; 2048];
                let _ = peer.set_remote_description(SdpType::Offer, text);
                let _ = peer.add_remote_candidate(text);
                let _ = peer.create_answer(&mut sdp);
            }
        }
        _ => {
            let (a, b, now, ours, theirs) = &p.connected;
            connected(&mut a.clone(), &mut b.clone(), *now, (*ours, *theirs), rest);
        }
    });
});
