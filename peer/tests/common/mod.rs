//! A two-Peer harness for the integration tests: direct delivery in virtual time.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use peerless::{ChannelId, ChannelInit, Config, Event, Peer, SdpType, Storage};
use peerless_base::Instant;

pub(crate) const A: &str = "10.0.0.1:5000";
pub(crate) const B: &str = "10.0.0.2:5000";

pub(crate) fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Leaked storage: tests only, so every Peer can borrow `'static` areas.
pub(crate) fn areas() -> (&'static mut [u8], &'static mut [u8]) {
    let s: &'static mut Storage<{ 128 * 1024 }, { 128 * 1024 }> =
        Box::leak(Box::new(Storage::new()));
    s.areas()
}

pub(crate) fn certs() -> (peerless_dtls::Certificate, peerless_dtls::Certificate) {
    peerless::selftest::certificates().unwrap()
}

pub(crate) fn peer(cert: peerless_dtls::Certificate, seed: u8) -> Peer {
    let (s, r) = areas();
    Peer::new(Config::new(cert, [seed; 32]), Instant::ZERO, s, r)
}

/// An owned copy of an event, for assertions after the borrow ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ev {
    Open {
        channel: u16,
        label: String,
        remote: bool,
    },
    Message {
        channel: u16,
        binary: bool,
        data: Vec<u8>,
    },
    Low(u16),
    Closing(u16),
    Closed(u16),
    Error(u16),
    Conn(peerless::ConnectionState),
    Ice(peerless::IceState),
    Sctp,
    SctpClosed,
    Track {
        mid: String,
        kind: peerless::MediaKind,
        stream_id: Option<String>,
    },
    Media {
        mid: String,
        rid: Option<String>,
        pt: u8,
        rtp_time: u32,
        keyframe: bool,
        contiguous: bool,
        data: Vec<u8>,
    },
    Keyframe(String, peerless::KeyframeKind),
    AreaNeeded(String, peerless::AreaUse),
    Tone(Option<char>),
    Rtp(String, Vec<u8>),
    Dtmf(Option<char>, Duration),
    Bitrate(u64),
    Other,
}

pub(crate) fn drain(p: &mut Peer) -> Vec<Ev> {
    let mut out = Vec::new();
    while let Some(e) = p.poll_event() {
        out.push(match e {
            Event::ChannelOpen {
                channel,
                label,
                remote,
                ..
            } => Ev::Open {
                channel: channel.0,
                label: label.to_string(),
                remote,
            },
            Event::Message {
                channel,
                kind,
                data,
            } => Ev::Message {
                channel: channel.0,
                binary: kind == peerless::MessageKind::Binary,
                data: data.to_vec(),
            },
            Event::BufferedAmountLow(c) => Ev::Low(c.0),
            Event::ChannelClosing(c) => Ev::Closing(c.0),
            Event::ChannelClosed(c) => Ev::Closed(c.0),
            Event::ChannelError { channel, .. } => Ev::Error(channel.0),
            Event::ConnectionState(s) => Ev::Conn(s),
            Event::IceState(s) => Ev::Ice(s),
            Event::SctpConnected => Ev::Sctp,
            Event::SctpClosed(_) => Ev::SctpClosed,
            Event::Track {
                mid,
                kind,
                stream_id,
                ..
            } => Ev::Track {
                mid: mid.to_string(),
                kind,
                stream_id: stream_id.map(str::to_string),
            },
            Event::MediaData(m) => Ev::Media {
                mid: m.mid.to_string(),
                rid: m.rid.map(str::to_string),
                pt: m.pt,
                rtp_time: m.rtp_time,
                keyframe: m.keyframe,
                contiguous: m.contiguous,
                data: m.data.to_vec(),
            },
            Event::KeyframeRequest { mid, kind, .. } => Ev::Keyframe(mid.to_string(), kind),
            Event::MediaAreaNeeded { mid, use_, .. } => Ev::AreaNeeded(mid.to_string(), use_),
            Event::ToneChange { tone, .. } => Ev::Tone(tone),
            Event::Rtp { mid, packet, .. } => Ev::Rtp(mid.to_string(), packet.to_vec()),
            Event::Dtmf { tone, duration, .. } => Ev::Dtmf(tone, duration),
            Event::BitrateEstimate { target_bps } => Ev::Bitrate(target_bps),
            _ => Ev::Other,
        });
    }
    out
}

/// Two peers joined by a perfect link, in virtual time.
pub(crate) struct Pair {
    pub(crate) a: Peer,
    pub(crate) b: Peer,
    pub(crate) now: Instant,
    pub(crate) events_a: Vec<Ev>,
    pub(crate) events_b: Vec<Ev>,
    /// Drop every datagram from A (the remote vanishes) when set.
    pub(crate) cut: bool,
    pub(crate) datagrams: u64,
    /// A's host does not drain its events while set (a busy or stalled application).
    pub(crate) hold_a: bool,
    /// Datagrams from B for which this says true are lost (a peer that never sends DTLS).
    pub(crate) drop_from_b: fn(&[u8]) -> bool,
    /// Datagrams from A for which this says true are lost.
    pub(crate) drop_from_a: fn(&[u8]) -> bool,
}

impl Pair {
    pub(crate) fn new(a: Peer, b: Peer) -> Self {
        Pair {
            a,
            b,
            now: Instant::ZERO,
            events_a: Vec::new(),
            events_b: Vec::new(),
            cut: false,
            datagrams: 0,
            hold_a: false,
            drop_from_b: |_| false,
            drop_from_a: |_| false,
        }
    }

    /// Offer from A, answer from B, both applied at once.
    pub(crate) fn signal(&mut self) {
        self.a.add_local_candidate(addr(A)).unwrap();
        self.b.add_local_candidate(addr(B)).unwrap();
        self.exchange(true);
    }

    /// One offer/answer exchange, applied at once on both sides (A offers if `a_offers`);
    /// the offer and the answer.
    pub(crate) fn exchange(&mut self, a_offers: bool) -> (String, String) {
        let mut buf = vec![0u8; 16384];
        let (offerer, answerer) = if a_offers {
            (&mut self.a, &mut self.b)
        } else {
            (&mut self.b, &mut self.a)
        };
        let offer = offerer.create_offer(&mut buf).unwrap().to_string();
        offerer
            .set_local_description(SdpType::Offer, &offer)
            .unwrap();
        answerer
            .set_remote_description(SdpType::Offer, &offer)
            .unwrap();
        let answer = answerer.create_answer(&mut buf).unwrap().to_string();
        answerer
            .set_local_description(SdpType::Answer, &answer)
            .unwrap();
        offerer
            .set_remote_description(SdpType::Answer, &answer)
            .unwrap();
        (offer, answer)
    }

    /// Moves every datagram; returns whether anything moved.
    pub(crate) fn shuttle(&mut self) -> bool {
        let mut moved = false;
        let mut buf = vec![0u8; 2048];
        loop {
            let mut any = false;
            while let Some(t) = self.a.poll_transmit(&mut buf).unwrap() {
                let (from, to, n) = (t.source, t.destination, t.payload.len());
                any = true;
                self.datagrams += 1;
                if !self.cut && to == addr(B) && !(self.drop_from_a)(&buf[..n]) {
                    self.b.handle_packet(self.now, from, to, &mut buf[..n]);
                }
            }
            while let Some(t) = self.b.poll_transmit(&mut buf).unwrap() {
                let (from, to, n) = (t.source, t.destination, t.payload.len());
                any = true;
                self.datagrams += 1;
                if to == addr(A) && !(self.drop_from_b)(&buf[..n]) {
                    self.a.handle_packet(self.now, from, to, &mut buf[..n]);
                }
            }
            if !self.hold_a {
                self.events_a.extend(drain(&mut self.a));
            }
            self.events_b.extend(drain(&mut self.b));
            if !any {
                break;
            }
            moved = true;
        }
        moved
    }

    /// Runs until `done` or `limit` of virtual time passes.
    pub(crate) fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&mut Pair) -> bool,
    ) -> bool {
        let end = self.now + limit;
        loop {
            self.shuttle();
            if done(self) {
                return true;
            }
            let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else { return false };
            let next = next.max(self.now + Duration::from_micros(1));
            if next > end {
                return false;
            }
            self.now = next;
            self.a.handle_timeout(next);
            self.b.handle_timeout(next);
        }
    }

    pub(crate) fn opened(&self, remote_side: bool) -> bool {
        let evs = if remote_side {
            &self.events_b
        } else {
            &self.events_a
        };
        evs.iter().any(|e| matches!(e, Ev::Open { .. }))
    }
}

/// Two Peers connected with one channel (created by A) open on both sides.
pub(crate) fn open_pair() -> (Pair, ChannelId) {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    let ch = pair
        .a
        .create_data_channel("chat", ChannelInit::default())
        .unwrap();
    pair.signal();
    assert!(pair.run_until(Duration::from_secs(10), |p| p.opened(false)
        && p.opened(true)));
    (pair, ch)
}
