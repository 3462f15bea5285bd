//! Properties: any MTU from 64 to 1500 gives a handshake; arbitrary datagrams never panic an
//! endpoint at any step of the handshake; a record with any one bit flipped is never accepted.
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
}

/// Every single-bit change anywhere in an application data record (header, explicit nonce,
/// ciphertext, tag: every byte, every bit) is refused and counted, never delivered and never
/// ends the association; the untouched record is then delivered once, so the refusals left the
/// server's state (replay window, keys) as it was. One connected pair serves every mutation:
/// a refused record must change nothing but a drop counter, which is what this checks.
#[test]
fn every_bit_flip_of_a_record_is_refused() {
    let mut pair = Pair::new(3, |c| c);
    pair.run_until_connected();
    let message = b"a message long enough to mutate anywhere in it, header included";
    pair.client.send(message).unwrap();
    let mut buf = [0u8; 1500];
    let record = pair
        .client
        .poll_transmit(&mut buf)
        .unwrap()
        .unwrap()
        .to_vec();
    assert!(
        record.len() > 13 + message.len(),
        "one whole record: {} bytes",
        record.len()
    );
    let drops = |s: Stats| {
        s.dropped_malformed + s.dropped_decrypt + s.dropped_replayed + s.dropped_unexpected
    };
    let mut flips = 0u64;
    for byte in 0..record.len() {
        for bit in 0..8 {
            let before = pair.server.stats();
            let mut d = record.clone();
            d[byte] ^= 1 << bit;
            pair.server.handle_packet(pair.now, &mut d);
            pair.pump();
            let after = pair.server.stats();
            assert!(
                pair.server_data.is_empty(),
                "byte {byte} bit {bit}: delivered"
            );
            assert!(
                pair.server_closed.is_none(),
                "byte {byte} bit {bit}: closed {:?}",
                pair.server_closed
            );
            assert_eq!(
                after.app_records_received, before.app_records_received,
                "byte {byte} bit {bit}"
            );
            assert!(
                drops(after) > drops(before),
                "byte {byte} bit {bit}: not counted as dropped"
            );
            flips += 1;
        }
    }
    assert_eq!(flips, 8 * record.len() as u64);
    let mut d = record.clone();
    pair.server.handle_packet(pair.now, &mut d);
    pair.pump();
    assert_eq!(pair.server_data, vec![message.to_vec()]);
    assert!(pair.server_closed.is_none() && pair.client_closed.is_none());
}
