//! Arbitrary datagrams into a server and a client endpoint (fixed seeds, so the fuzzer sees
//! the same randoms every run and can go deep): never a panic, and the endpoints keep
//! answering through the five verbs. The input is split into datagrams at each 2-byte length.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use peerless_base::{Drbg, Instant};
use peerless_dtls::{Certificate, Config, Endpoint, Role, Validity};

fn certs() -> &'static (Certificate, Certificate) {
    static CERTS: OnceLock<(Certificate, Certificate)> = OnceLock::new();
    CERTS.get_or_init(|| {
        let mut rng = Drbg::from_seed(&[1; 32], b"fuzz");
        let v = Validity::days_from(1_700_000_000, 1);
        (Certificate::generate(&mut rng, v).unwrap(), Certificate::generate(&mut rng, v).unwrap())
    })
}

fuzz_target!(|data: &[u8]| {
    let (a, b) = certs();
    let mut server: Endpoint = Endpoint::new(Config::new(a.clone(), [2; 32]), Role::Server, Instant::ZERO);
    let mut client: Endpoint = Endpoint::new(Config::new(b.clone(), [3; 32]).with_mtu(300), Role::Client, Instant::ZERO);
    server.set_remote_fingerprint(b.fingerprint(peerless_dtls::HashAlgorithm::Sha256));
    let mut buf = [0u8; 1500];
    let mut rest = data;
    let mut t = 0u64;
    while rest.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let mut datagram = rest[2..2 + n].to_vec();
        rest = &rest[2 + n..];
        t += 100;
        let now = Instant::from_millis(t);
        server.handle_packet(now, &mut datagram.clone());
        client.handle_packet(now, &mut datagram);
        for ep in [&mut server, &mut client] {
            ep.handle_timeout(now);
            while let Ok(Some(_)) = ep.poll_transmit(&mut buf) {}
            while ep.poll_event().is_some() {}
            let _ = ep.poll_timeout();
        }
    }
});
