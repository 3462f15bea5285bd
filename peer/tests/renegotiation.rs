//! Descriptions after the first: renegotiation keeps the transport, and descriptions out of
//! turn or malformed change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Ev, certs, open_pair, peer};
use peerless::SdpType;

fn received(evs: &[Ev]) -> Vec<(bool, Vec<u8>)> {
    evs.iter()
        .filter_map(|e| match e {
            Ev::Message { binary, data, .. } => Some((*binary, data.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn renegotiation_from_the_answerer_keeps_the_dtls_roles_and_the_channel() {
    let (mut pair, ch) = open_pair();
    let mut buf = vec![0u8; 4096];
    let offer = pair.b.create_offer(&mut buf).unwrap().to_string();
    // JSEP offers say actpass; the answerer keeps the established role (RFC 8842 §5.3).
    assert!(offer.contains("a=setup:actpass"), "{offer}");
    pair.b
        .set_local_description(SdpType::Offer, &offer)
        .unwrap();
    pair.a
        .set_remote_description(SdpType::Offer, &offer)
        .unwrap();
    let answer = pair.a.create_answer(&mut buf).unwrap().to_string();
    assert!(answer.contains("a=setup:passive"), "{answer}");
    pair.a
        .set_local_description(SdpType::Answer, &answer)
        .unwrap();
    pair.b
        .set_remote_description(SdpType::Answer, &answer)
        .unwrap();
    assert_eq!(pair.a.dtls_role(), Some(peerless_dtls::Role::Server));
    assert_eq!(pair.b.dtls_role(), Some(peerless_dtls::Role::Client));
    pair.a
        .send(ch, peerless::MessageKind::Text, b"after renegotiation")
        .unwrap();
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        !received(&p.events_b).is_empty()
    }));
    assert_eq!(
        received(&pair.events_b),
        vec![(false, b"after renegotiation".to_vec())]
    );
    assert_eq!(pair.a.signaling_state(), peerless::SignalingState::Stable);
}

#[test]
fn descriptions_out_of_turn_and_garbage_are_refused_without_changing_anything() {
    let (ca, cb) = certs();
    let mut a = peer(ca, 1);
    let mut b = peer(cb, 2);
    let mut buf = vec![0u8; 4096];
    assert_eq!(
        a.create_answer(&mut buf),
        Err(peerless::SdpError::WrongState)
    );
    assert!(matches!(
        a.set_remote_description(SdpType::Offer, "v=0\r\ngarbage"),
        Err(peerless::SdpError::Parse(_))
    ));
    let offer = b.create_offer(&mut buf).unwrap().to_string();
    assert_eq!(
        a.set_remote_description(SdpType::Answer, &offer),
        Err(peerless::SdpError::WrongState)
    );
    let no_fp: String = offer
        .lines()
        .filter(|l| !l.starts_with("a=fingerprint"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    assert_eq!(
        a.set_remote_description(SdpType::Offer, &no_fp),
        Err(peerless::SdpError::NoFingerprint)
    );
    assert_eq!(a.signaling_state(), peerless::SignalingState::Stable);
    assert_eq!(
        a.create_offer(&mut [0u8; 16]),
        Err(peerless::SdpError::BufferTooSmall(
            a.create_offer(&mut buf).unwrap().len()
        ))
    );
}
