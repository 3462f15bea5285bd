//! Properties: any MTU from 64 to 1500 gives a handshake; arbitrary datagrams never panic an
//! endpoint at any step of the handshake; a record mutated anywhere is never accepted.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use peerless_dtls::*;
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn any_mtu_connects(client_mtu in 64usize..1500, server_mtu in 64usize..1500, seed in 0u8..255) {
        let mut pair = Pair::new(seed, |c| c);
        pair.client = Endpoint::new(Config::new(Role::Client, cert(seed.wrapping_mul(2)), [seed; 32]).with_mtu(client_mtu), pair.now);
        pair.client.connect(pair.now);
        pair.server = Endpoint::new(Config::new(Role::Server, cert(seed.wrapping_mul(2).wrapping_add(1)), [!seed; 32]).with_mtu(server_mtu), pair.now);
        pair.run_until_connected();
        prop_assert_eq!(pair.client.stats().retransmissions, 0);
        prop_assert_eq!(pair.client_connected.clone().unwrap(), pair.server_connected.clone().unwrap());
    }

    #[test]
    fn garbage_at_any_step_never_panics(step in 0usize..6, garbage in proptest::collection::vec(any::<u8>(), 0..400), seed in 0u8..255) {
        let mut pair = Pair::new(seed, |c| c);
        pair.set_fingerprints();
        pair.late_fingerprint = true;
        let mut buf = [0u8; 1500];
        for _ in 0..step {
            if let Some(t) = pair.client.poll_transmit(&mut buf).unwrap() {
                let n = t.len();
                pair.server.handle_packet(pair.now, &mut buf[..n]);
            }
            if let Some(t) = pair.server.poll_transmit(&mut buf).unwrap() {
                let n = t.len();
                pair.client.handle_packet(pair.now, &mut buf[..n]);
            }
        }
        // Garbage, and garbage dressed as a DTLS 1.2 record of each content type and epoch.
        pair.client.handle_packet(pair.now, &mut garbage.clone());
        pair.server.handle_packet(pair.now, &mut garbage.clone());
        for ty in [20u8, 21, 22, 23] {
            for epoch in [0u8, 1] {
                let mut rec = vec![ty, 0xfe, 0xfd, 0, epoch, 0, 0, 0, 0, 1, 7];
                rec.extend_from_slice(&(garbage.len() as u16).to_be_bytes());
                rec.extend_from_slice(&garbage);
                pair.client.handle_packet(pair.now, &mut rec.clone());
                pair.server.handle_packet(pair.now, &mut rec);
            }
        }
        pair.pump();
        let _ = (pair.client.stats(), pair.server.stats(), pair.client.poll_timeout());
    }

    #[test]
    fn a_mutated_record_is_never_accepted(byte in 0usize..60, bit in 0u8..8) {
        let mut pair = Pair::new(3, |c| c);
        pair.run_until_connected();
        pair.client.send(b"a message long enough to mutate anywhere in it, header included").unwrap();
        let mut buf = [0u8; 1500];
        let mut d = pair.client.poll_transmit(&mut buf).unwrap().unwrap().to_vec();
        let i = byte % d.len();
        d[i] ^= 1 << bit;
        pair.server.handle_packet(pair.now, &mut d);
        pair.pump();
        prop_assert!(pair.server_data.is_empty());
        prop_assert!(pair.server_closed.is_none());
    }
}
