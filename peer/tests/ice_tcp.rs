//! ICE over TCP (RFC 6544) at the Peer: the answerer's only candidate is a passive TCP host
//! candidate; the offerer reaches it over one connection carrying RFC 4571 frames in both
//! directions, cut into segments of 1 to 29 bytes. ICE, DTLS and SCTP run over it and a data
//! channel opens and carries messages. Peerless has no active TCP candidates, so the offerer is
//! a Peer whose datagrams the test host carries on the connection, as a browser's active
//! candidate would (`scripts/interop/peer-firefox-icetcp.sh` does this with Firefox).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Ev, addr, certs, drain, peer};
use peerless::{ChannelInit, MessageKind, Peer, SdpType};
use peerless_base::Instant;
use peerless_ice::{FrameReader, frame_header};

const LISTEN: &str = "10.0.0.1:443";
const CONNECTED_FROM: &str = "10.0.0.2:50123";

/// One direction of the connection and the receiving end's reader.
#[derive(Default)]
struct Pipe {
    bytes: Vec<u8>,
    segment: usize,
    reader: FrameReader,
    frames: u64,
}

impl Pipe {
    fn write(&mut self, d: &[u8]) {
        self.bytes
            .extend_from_slice(&frame_header(d.len()).unwrap());
        self.bytes.extend_from_slice(d);
    }

    /// Delivers everything written, segment by segment, to `to` as from `from` to `local`.
    fn deliver(&mut self, now: Instant, to: &mut Peer, from: SocketAddr, local: SocketAddr) {
        while !self.bytes.is_empty() {
            self.segment = self.segment % 29 + 1;
            let n = self.segment.min(self.bytes.len());
            let seg: Vec<u8> = self.bytes.drain(..n).collect();
            let mut input = &seg[..];
            while let Some(d) = self.reader.next(&mut input) {
                let mut d = d.to_vec();
                self.frames += 1;
                to.handle_packet(now, from, local, &mut d);
            }
        }
    }
}

#[test]
fn a_data_channel_opens_over_a_passive_tcp_candidate() {
    let (listen, from) = (addr(LISTEN), addr(CONNECTED_FROM));
    let (ca, cb) = certs();
    let (mut active, mut passive) = (peer(ca, 1), peer(cb, 2));
    active.add_local_candidate(from).unwrap();
    passive.add_local_candidate_tcp_passive(listen).unwrap();
    // One address, one transport: the host routes by a transmit's source.
    assert!(passive.add_local_candidate(listen).is_err());
    let ch = active
        .create_data_channel("chat", ChannelInit::default())
        .unwrap();

    let mut buf = vec![0u8; 16384];
    let offer = active.create_offer(&mut buf).unwrap().to_string();
    active
        .set_local_description(SdpType::Offer, &offer)
        .unwrap();
    passive
        .set_remote_description(SdpType::Offer, &offer)
        .unwrap();
    let answer = passive.create_answer(&mut buf).unwrap().to_string();
    passive
        .set_local_description(SdpType::Answer, &answer)
        .unwrap();
    let ours: Vec<&str> = answer
        .lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .collect();
    assert_eq!(ours.len(), 1, "{answer}");
    assert!(
        ours[0].ends_with(" 1 tcp 2124406783 10.0.0.1 443 typ host tcptype passive"),
        "{}",
        ours[0]
    );
    // The active side checks toward the listener (its host carries that on the connection):
    // it reads our candidate as a UDP one.
    let as_udp = ours[0]
        .replace(" tcp ", " udp ")
        .replace(" tcptype passive", "");
    active
        .set_remote_description(SdpType::Answer, &answer.replace(ours[0], &as_udp))
        .unwrap();

    let (mut a2p, mut p2a) = (Pipe::default(), Pipe::default());
    let (mut ev_a, mut ev_p) = (Vec::new(), Vec::new());
    let mut now = Instant::ZERO;
    let mut sent = false;
    let end = now + Duration::from_secs(10);
    while now < end {
        loop {
            let mut any = false;
            while let Some(t) = active.poll_transmit(&mut buf).unwrap() {
                assert_eq!((t.source, t.destination), (from, listen));
                a2p.write(t.payload);
                any = true;
            }
            while let Some(t) = passive.poll_transmit(&mut buf).unwrap() {
                assert!(passive.is_tcp_source(t.source));
                assert_eq!((t.source, t.destination), (listen, from));
                p2a.write(t.payload);
                any = true;
            }
            a2p.deliver(now, &mut passive, from, listen);
            p2a.deliver(now, &mut active, listen, from);
            ev_a.extend(drain(&mut active));
            ev_p.extend(drain(&mut passive));
            if !any {
                break;
            }
        }
        let open = |evs: &[Ev]| evs.iter().any(|e| matches!(e, Ev::Open { .. }));
        if open(&ev_a) && open(&ev_p) && !sent {
            active.send(ch, MessageKind::Text, b"over tcp").unwrap();
            active.send(ch, MessageKind::Binary, &[7u8; 3000]).unwrap();
            sent = true;
            continue;
        }
        let got = ev_p
            .iter()
            .filter(|e| matches!(e, Ev::Message { .. }))
            .count();
        if got == 2 {
            break;
        }
        let next = [active.poll_timeout(), passive.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
        now = next.max(now + Duration::from_micros(1));
        active.handle_timeout(now);
        passive.handle_timeout(now);
    }
    assert!(sent, "the channel did not open: {ev_a:?} {ev_p:?}");
    let messages: Vec<_> = ev_p
        .iter()
        .filter_map(|e| match e {
            Ev::Message { binary, data, .. } => Some((*binary, data.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        messages,
        [(false, b"over tcp".to_vec()), (true, vec![7u8; 3000])]
    );
    assert_eq!(passive.stats().selected_pair, Some((listen, from)));
    // ICE checks, the DTLS handshake and SCTP's, and the messages: every one a frame.
    assert!(
        a2p.frames >= 8 && p2a.frames >= 8,
        "{} {}",
        a2p.frames,
        p2a.frames
    );
    assert!(passive.stats().dtls_cipher.is_some());
    assert_eq!(
        (a2p.reader.dropped_too_long(), p2a.reader.dropped_too_long()),
        (0, 0)
    );
    eprintln!(
        "connected over TCP at {:?}: {} frames in, {} out",
        now, a2p.frames, p2a.frames
    );

    // The connection closes: the passive side's pair goes.
    passive.tcp_connection_closed(listen, from);
    assert_eq!(passive.stats().selected_pair, None);
}
