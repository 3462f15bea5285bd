//! The Peer fed arbitrary datagrams (STUN, DTLS, SRTP, anything) in every signalling state it
//! can reach without the remote's keys, and arbitrary SDP and candidate text: it must never
//! panic, and every transmit it produces must fit the buffer it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerless::{Peer, SdpType, SmallPeer, Storage, selftest};
use peerless_base::Instant;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else { return };
    let Ok((ca, cb)) = selftest::certificates() else { return };
    let mut sa = Box::new(Storage::<8192, 8192>::new());
    let mut sb = Box::new(Storage::<8192, 8192>::new());
    let (a_send, a_recv) = sa.areas();
    let (b_send, b_recv) = sb.areas();
    let mut remote: SmallPeer<&mut [u8]> = Peer::new(selftest::config(ca, 1), Instant::ZERO, a_send, a_recv);
    let mut peer: SmallPeer<&mut [u8]> = Peer::new(selftest::config(cb, 2), Instant::ZERO, b_send, b_recv);
    let _ = remote.create_data_channel("fuzz", Default::default());
    let _ = remote.add_local_candidate(selftest::OFFERER);
    let _ = peer.add_local_candidate(selftest::ANSWERER);
    let mut sdp = [0u8; 2048];
    let Ok(offer) = remote.create_offer(&mut sdp) else { return };
    let offer = offer.to_owned();
    match mode % 4 {
        // Before any description: early DTLS is stashed, STUN is checked against our ufrag.
        0 => {}
        // Offer applied, no answer yet.
        1 => {
            let _ = peer.set_remote_description(SdpType::Offer, &offer);
        }
        // Answered (we are the DTLS client), the transport running.
        2 => {
            let _ = peer.set_remote_description(SdpType::Offer, &offer);
            if let Ok(answer) = peer.create_answer(&mut sdp) {
                let answer = answer.to_owned();
                let _ = peer.set_local_description(SdpType::Answer, &answer);
            }
        }
        // Arbitrary signalling text.
        _ => {
            if let Ok(text) = core::str::from_utf8(rest) {
                let _ = peer.set_remote_description(SdpType::Offer, text);
                let _ = peer.add_remote_candidate(text);
                let _ = peer.create_answer(&mut sdp);
            }
            return;
        }
    }
    let mut now = Instant::ZERO;
    let mut out = [0u8; 1500];
    // Datagrams: 2-byte length, then the bytes.
    while rest.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]])) % 1500;
        let Some((datagram, tail)) = rest.get(2..).map(|r| r.split_at(n.min(r.len()))) else { break };
        rest = tail;
        let mut d = datagram.to_vec();
        peer.handle_packet(now, selftest::OFFERER, selftest::ANSWERER, &mut d);
        now = Instant::from_micros(now.as_micros() + 20_000);
        peer.handle_timeout(now);
        while let Ok(Some(t)) = peer.poll_transmit(&mut out) {
            assert!(t.payload.len() <= 1500);
        }
        while peer.poll_event().is_some() {}
    }
});
