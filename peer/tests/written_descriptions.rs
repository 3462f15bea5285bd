//! The Peer's own text is byte-identical to known answers: an offer with audio, video and a data
//! channel (fingerprint, CNAME and SSRC lines, IPv4 and IPv6 host candidates), the answer of a
//! Peer that hides its host addresses behind `.local` names, and every candidate event's text.
//!
//! `tests/known/peer-descriptions.txt` was written by commit 1e98e4c, whose writers still went
//! through `core::fmt` (`PEERLESS_BLESS=1 cargo test -p peerless --test written_descriptions`
//! rewrites it): the writers that replaced them must not change a byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fmt::Write as _;

use common::{addr, areas, certs};
use peerless::{ChannelInit, Config, Direction, Event, MediaKind, Peer, SdpType};
use peerless_base::Instant;

fn candidates(p: &mut Peer, out: &mut String, who: &str) {
    while let Some(e) = p.poll_event() {
        if let Event::LocalCandidate { text, .. } = e {
            writeln!(out, "{who} candidate: {text}").unwrap();
        }
    }
}

#[test]
fn peer_descriptions_are_byte_identical_to_the_known_answers() {
    let (ca, cb) = certs();
    let mut out = String::new();
    let (s, r) = areas();
    let mut a = Peer::new(Config::new(ca, [1; 32]), Instant::ZERO, s, r);
    let mut config = Config::new(cb, [2; 32]);
    config.obfuscate_host_addresses = true;
    let (s, r) = areas();
    let mut b = Peer::new(config, Instant::ZERO, s, r);
    b.add_mdns_socket(addr("10.0.0.2:5353")).unwrap();
    a.add_local_candidate(addr("127.0.0.1:6000")).unwrap();
    a.add_local_candidate(addr("[2001:db8::1:0:0:5]:6001"))
        .unwrap();
    b.add_local_candidate(addr("10.0.0.2:5000")).unwrap();
    b.add_local_candidate(addr("[fd00::2]:5002")).unwrap();
    a.add_transceiver(MediaKind::Audio, Direction::SendRecv)
        .unwrap();
    a.add_transceiver(MediaKind::Video, Direction::SendRecv)
        .unwrap();
    a.create_data_channel("chat", ChannelInit::default())
        .unwrap();
    candidates(&mut a, &mut out, "A");
    candidates(&mut b, &mut out, "B");
    let mut buf = vec![0u8; 16384];
    let offer = a.create_offer(&mut buf).unwrap().to_string();
    write!(out, "### A's offer\n{offer}").unwrap();
    a.set_local_description(SdpType::Offer, &offer).unwrap();
    b.set_remote_description(SdpType::Offer, &offer).unwrap();
    let answer = b.create_answer(&mut buf).unwrap().to_string();
    write!(out, "### B's answer\n{answer}").unwrap();
    b.set_local_description(SdpType::Answer, &answer).unwrap();
    a.set_remote_description(SdpType::Answer, &answer).unwrap();
    // A second track after the first negotiation: a new mid, found by counting up.
    a.add_transceiver(MediaKind::Audio, Direction::SendOnly)
        .unwrap();
    let reoffer = a.create_offer(&mut buf).unwrap().to_string();
    write!(out, "### A's offer with a third track\n{reoffer}").unwrap();

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/known/peer-descriptions.txt"
    );
    if std::env::var_os("PEERLESS_BLESS").is_some() {
        std::fs::write(path, &out).unwrap();
    }
    let known = std::fs::read_to_string(path).unwrap();
    for (i, (wrote, want)) in out.lines().zip(known.lines()).enumerate() {
        assert_eq!(wrote, want, "line {} differs from the known answer", i + 1);
    }
    assert_eq!(out, known);
}
