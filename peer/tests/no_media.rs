//! A Peer without transceivers (`TRANSCEIVERS == 0`, the firmware's `SmallPeer`) against a
//! full Peer that offers audio, video and a data channel: the media sections are answered with
//! port 0, the data channel opens, DTLS still negotiates use_srtp (aiortc fails a handshake
//! without it) but no SRTP contexts are made, and SRTP/SRTCP that arrives anyway is dropped
//! unread and counted in `dropped_media_no_transceivers`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{addr, areas, certs};
use peerless::{
    Area, AreaUse, ChannelInit, Codec, Config, ConnectionState, Direction, Event, MediaKind,
    MessageKind, Peer, SdpType, SmallPeer, Storage,
};
use peerless_base::Instant;
use peerless_sdp::Session;

/// Default sizes, no transceivers: the browser fixtures' media offers (4.5 to 6.5 KB) fit.
type NoMediaPeer = Peer<&'static mut [u8], 256, 32, 4096, 8192, 16384, 16, 0>;

/// What the tests look at in the events of either Peer.
#[derive(Debug, PartialEq)]
enum Ev {
    Open(String),
    Message(Vec<u8>),
    Connected,
    /// Anything about media (a track, a frame, a keyframe request, an RTP packet, ...).
    Media,
    Other,
}

/// One side of the link, whatever its sizes.
trait Side {
    fn transmits(&mut self) -> Vec<(SocketAddr, Vec<u8>)>;
    fn deliver(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, datagram: &mut [u8]);
    fn timeout(&mut self, now: Instant);
    fn next_timeout(&self) -> Option<Instant>;
    fn events(&mut self) -> Vec<Ev>;
}

impl<
    S: Area,
    const K: usize,
    const C: usize,
    const D: usize,
    const L: usize,
    const R: usize,
    const N: usize,
    const T: usize,
> Side for Peer<S, K, C, D, L, R, N, T>
{
    fn transmits(&mut self) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        while let Some(t) = self.poll_transmit(&mut buf).unwrap() {
            out.push((t.destination, t.payload.to_vec()));
        }
        out
    }
    fn deliver(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, datagram: &mut [u8]) {
        self.handle_packet(now, from, to, datagram);
    }
    fn timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|t| t <= now) {
            self.handle_timeout(now);
        }
    }
    fn next_timeout(&self) -> Option<Instant> {
        self.poll_timeout()
    }
    fn events(&mut self) -> Vec<Ev> {
        let mut out = Vec::new();
        while let Some(e) = self.poll_event() {
            out.push(match e {
                Event::ChannelOpen { label, .. } => Ev::Open(label.to_string()),
                Event::Message { data, .. } => Ev::Message(data.to_vec()),
                Event::ConnectionState(ConnectionState::Connected) => Ev::Connected,
                Event::Track { .. }
                | Event::MediaData(_)
                | Event::KeyframeRequest { .. }
                | Event::MediaAreaNeeded { .. }
                | Event::Rtp { .. }
                | Event::BitrateEstimate { .. } => Ev::Media,
                _ => Ev::Other,
            });
        }
        out
    }
}

/// Runs both sides over a lossless link (A at `common::A`, B at `common::B`) in virtual time
/// until `done` or `limit`; every event seen, per side.
fn run(
    now: &mut Instant,
    a: &mut dyn Side,
    b: &mut dyn Side,
    limit: Duration,
    events: &mut (Vec<Ev>, Vec<Ev>),
    done: impl Fn(&(Vec<Ev>, Vec<Ev>)) -> bool,
) -> bool {
    let (addr_a, addr_b) = (addr(common::A), addr(common::B));
    let end = *now + limit;
    while *now < end {
        for _ in 0..64 {
            let from_a = a.transmits();
            let from_b = b.transmits();
            if from_a.is_empty() && from_b.is_empty() {
                break;
            }
            for (to, mut d) in from_a {
                assert_eq!(to, addr_b);
                b.deliver(*now, addr_a, addr_b, &mut d);
            }
            for (to, mut d) in from_b {
                assert_eq!(to, addr_a);
                a.deliver(*now, addr_b, addr_a, &mut d);
            }
            events.0.extend(a.events());
            events.1.extend(b.events());
        }
        if done(events) {
            return true;
        }
        let next = [a.next_timeout(), b.next_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(end)
            .max(*now + Duration::from_micros(100));
        *now = next.min(end);
        a.timeout(*now);
        b.timeout(*now);
        events.0.extend(a.events());
        events.1.extend(b.events());
    }
    done(events)
}

/// The full side: the default Peer with an audio and a video transceiver, each with a send and
/// a receive area lent (so it would take media from the other side), and a data channel.
fn media_offerer(video: bool) -> Peer {
    let (cert, _) = certs();
    let (s, r) = areas();
    let mut a: Peer = Peer::new(Config::new(cert, [1; 32]), Instant::ZERO, s, r);
    for (kind, on) in [(MediaKind::Audio, true), (MediaKind::Video, video)] {
        if !on {
            continue;
        }
        let id = a.add_transceiver(kind, Direction::SendRecv).unwrap();
        // One codec each keeps the offer small enough for a SmallPeer's 2 KiB remote SDP.
        let codec = match kind {
            MediaKind::Audio => Codec::Opus,
            MediaKind::Video => Codec::Vp8,
        };
        a.set_codec_preferences(id, &[codec]).unwrap();
        for use_ in [AreaUse::Send, AreaUse::Receive] {
            let area: &'static mut [u8] = Box::leak(vec![0u8; 64 * 1024].into_boxed_slice());
            a.lend_media_area(kind, use_, area).unwrap();
        }
    }
    a.create_data_channel("chat", ChannelInit::default())
        .unwrap();
    a
}

/// Offer from `a`, answer from `b`; the offer and the answer.
fn negotiate<
    S: Area,
    const K: usize,
    const C: usize,
    const D: usize,
    const L: usize,
    const R: usize,
    const N: usize,
>(
    a: &mut Peer,
    b: &mut Peer<S, K, C, D, L, R, N, 0>,
) -> (String, String) {
    a.add_local_candidate(addr(common::A)).unwrap();
    b.add_local_candidate(addr(common::B)).unwrap();
    let mut buf = vec![0u8; 16384];
    let offer = a.create_offer(&mut buf).unwrap().to_string();
    a.set_local_description(SdpType::Offer, &offer).unwrap();
    b.set_remote_description(SdpType::Offer, &offer)
        .unwrap_or_else(|e| panic!("{e:?}: offer of {} bytes\n{offer}", offer.len()));
    let answer = b.create_answer(&mut buf).unwrap().to_string();
    b.set_local_description(SdpType::Answer, &answer).unwrap();
    a.set_remote_description(SdpType::Answer, &answer).unwrap();
    (offer, answer)
}

/// Every media section of the answer is rejected (port 0); the data section is accepted.
fn assert_media_rejected(offer: &str, answer: &str) {
    let offered = Session::parse(offer).unwrap();
    let answered = Session::parse(answer).unwrap();
    assert_eq!(offered.media_count(), answered.media_count());
    let mut media = 0;
    for a in answered.media() {
        if a.media_line().is_datachannel() {
            assert_ne!(a.port(), 0, "data section rejected\n{answer}");
        } else {
            media += 1;
            assert_eq!(a.port(), 0, "media section accepted\n{answer}");
        }
    }
    assert!(media > 0, "the offer had no media section\n{offer}");
}

/// A protected RTP packet and a protected RTCP receiver report from `a`'s SRTP contexts.
fn stray_srtp(a: &mut Peer) -> (Vec<u8>, Vec<u8>) {
    let header = peerless::rtp::packet::Header {
        payload_type: 111,
        sequence_number: 1,
        timestamp: 960,
        ssrc: 0x0bad_cafe,
        ..Default::default()
    };
    let mut buf = [0u8; 1500];
    let len = header.emit(b"an opus frame", &mut buf).unwrap();
    let srtp = a.srtp().expect("the Peer with media makes SRTP contexts");
    let n = srtp.outbound.protect_rtp(&mut buf, len).unwrap();
    let rtp = buf[..n].to_vec();
    // RTCP receiver report with no blocks (RFC 3550 §6.4.2): V=2, PT=201, length 1.
    let mut buf = [0u8; 1500];
    buf[..8].copy_from_slice(&[0x80, 201, 0, 1, 0x0b, 0xad, 0xca, 0xfe]);
    let n = srtp.outbound.protect_rtcp(&mut buf, 8).unwrap();
    (rtp, buf[..n].to_vec())
}

/// The whole connect and the stray packets, for a media-less answerer of any size.
fn connect_and_drop_stray_media<
    S: Area,
    const K: usize,
    const C: usize,
    const D: usize,
    const L: usize,
    const R: usize,
    const N: usize,
>(
    mut a: Peer,
    mut b: Peer<S, K, C, D, L, R, N, 0>,
) {
    let (offer, answer) = negotiate(&mut a, &mut b);
    eprintln!("offer {} bytes, answer {} bytes", offer.len(), answer.len());
    assert_media_rejected(&offer, &answer);
    // The offerer took the rejection: its transceivers neither send nor receive.
    for id in a.transceivers().collect::<Vec<_>>() {
        assert_eq!(a.current_direction(id), None, "{id:?}");
    }

    let mut now = Instant::ZERO;
    let mut events = (Vec::new(), Vec::new());
    let opened = run(
        &mut now,
        &mut a,
        &mut b,
        Duration::from_secs(10),
        &mut events,
        |(ea, eb)| ea.contains(&Ev::Open("chat".into())) && eb.contains(&Ev::Open("chat".into())),
    );
    assert!(opened, "the data channel did not open: {events:?}");
    assert_eq!(b.connection_state(), ConnectionState::Connected);

    // DTLS-SRTP: use_srtp negotiated on both sides, keys made only where there is media.
    let (sa, sb) = (a.stats(), b.stats());
    assert!(sa.srtp_profile.is_some() && sb.srtp_profile.is_some());
    assert_eq!(sa.srtp_profile, sb.srtp_profile);
    assert!(
        b.srtp().is_none(),
        "a Peer without transceivers makes no SRTP contexts"
    );

    // A message each way over the channel (ids: the first channel on each side).
    let ch_a = peerless::ChannelId(0);
    a.send(ch_a, MessageKind::Binary, b"ping").unwrap();
    let echoed = run(
        &mut now,
        &mut a,
        &mut b,
        Duration::from_secs(5),
        &mut events,
        |(_, eb)| eb.contains(&Ev::Message(b"ping".to_vec())),
    );
    assert!(echoed, "no message: {events:?}");

    // Stray SRTP and SRTCP (keyed right, from the selected peer): dropped unread, counted.
    let (mut rtp, mut rtcp) = stray_srtp(&mut a);
    let (from, to) = (addr(common::A), addr(common::B));
    b.handle_packet(now, from, to, &mut rtp);
    b.handle_packet(now, from, to, &mut rtcp);
    // And RTP that is not even protected.
    let mut plain = [0x80, 96, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0xde, 0xad];
    b.handle_packet(now, from, to, &mut plain);
    let s = b.stats();
    assert_eq!(s.dropped_media_no_transceivers, 3);
    assert_eq!(s.srtp_received, 0, "nothing was unprotected");
    assert_eq!(s.dropped_srtp, 0);
    assert_eq!(
        s.dropped_media_unrouted + s.dropped_media_malformed + s.dropped_media_no_area,
        0,
        "nothing was parsed"
    );
    events.1.extend(Side::events(&mut b));
    assert!(
        !events.1.contains(&Ev::Media),
        "media events at a Peer without transceivers: {:?}",
        events.1
    );
    // The connection is unharmed: the channel still carries a message the other way.
    b.send(peerless::ChannelId(0), MessageKind::Binary, b"pong")
        .unwrap();
    let back = run(
        &mut now,
        &mut a,
        &mut b,
        Duration::from_secs(5),
        &mut events,
        |(ea, _)| ea.contains(&Ev::Message(b"pong".to_vec())),
    );
    assert!(back, "no reply after the stray media: {events:?}");
    // Nothing the media-less side did counts as media at the other end either.
    assert_eq!(a.stats().srtp_received, 0);
}

#[test]
fn a_peer_without_transceivers_answers_audio_video_and_data_with_the_data_channel_only() {
    let (_, cert) = certs();
    let (s, r) = areas();
    let b: NoMediaPeer = Peer::new(Config::new(cert, [2; 32]), Instant::ZERO, s, r);
    connect_and_drop_stray_media(media_offerer(true), b);
}

/// The firmware's own type. Its 2 KiB remote SDP takes an audio + data offer (Opus only);
/// with video as well the offer is 2.5 KB and refused as `SdpError::TooLarge` (documented on
/// `SmallPeer`), so the audio + video case runs on `NoMediaPeer` above: the same code.
#[test]
fn a_small_peer_answers_an_audio_and_data_offer_with_the_data_channel_only() {
    let (_, cert) = certs();
    let storage: &'static mut peerless::SmallStorage = Box::leak(Box::new(Storage::new()));
    let (s, r) = storage.areas();
    let b: SmallPeer = SmallPeer::new(Config::new(cert, [2; 32]), Instant::ZERO, s, r);
    connect_and_drop_stray_media(media_offerer(false), b);
}

/// The browser fixtures' offers (Chromium's and Firefox's audio + video + data among them)
/// are answered as a browser without transceivers would: every media section rejected with
/// port 0 (the BUNDLE tag kept inactive when it is a media section), the data section taken.
#[test]
fn browser_media_offers_are_answered_without_media_by_a_peer_without_transceivers() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../sdp/tests/fixtures");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.contains("offer") || !name.contains("audio") {
            continue;
        }
        let offer = std::fs::read_to_string(&path).unwrap();
        let (cert, _) = certs();
        let (s, r) = areas();
        let mut p: NoMediaPeer = Peer::new(Config::new(cert, [5; 32]), Instant::ZERO, s, r);
        p.add_local_candidate(addr(common::B)).unwrap();
        p.set_remote_description(SdpType::Offer, &offer)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let mut buf = vec![0u8; 8192];
        let answer = p.create_answer(&mut buf).unwrap().to_string();
        p.set_local_description(SdpType::Answer, &answer)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let offered = Session::parse(&offer).unwrap();
        let answered = Session::parse(&answer).unwrap();
        let tag = offered.bundle_group().and_then(|g| g.mids().next());
        for (o, a) in offered.media().zip(answered.media()) {
            if o.media_line().is_datachannel() {
                assert_ne!(a.port(), 0, "{name}: data rejected\n{answer}");
            } else if o.mid() == tag && o.mid().is_some() {
                assert_eq!(
                    a.direction(),
                    peerless_sdp::attr::Direction::Inactive,
                    "{name}\n{answer}"
                );
            } else {
                assert_eq!(a.port(), 0, "{name}: media accepted\n{answer}");
            }
        }
        assert_eq!(p.transceivers().count(), 0, "{name}");
        checked += 1;
    }
    assert!(checked >= 2, "no audio fixtures found in {dir}");
}
