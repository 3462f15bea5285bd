//! `Endpoint::handle_packet` under arbitrary input, never a panic. Fixed seeds make every
//! run's randoms the same, so the fuzzer can go deep. The first byte picks the mode:
//!
//! ```text
//!  even: raw datagrams (each after a 2-byte length) into a fresh server and client
//!  odd:  a real client <-> server handshake whose datagrams the input edits on the way:
//!        per datagram one op byte (pass / drop / duplicate / hold back / flip a byte at an
//!        offset / truncate) and its argument bytes
//! ```
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use peerless_base::{Drbg, Instant};
use peerless_dtls::{Certificate, Config, Endpoint, HashAlgorithm, Role, Validity};

fn certs() -> &'static (Certificate, Certificate) {
    static CERTS: OnceLock<(Certificate, Certificate)> = OnceLock::new();
    CERTS.get_or_init(|| {
        let mut rng = Drbg::from_seed(&[1; 32], b"fuzz");
        let v = Validity::days_from(1_700_000_000, 1);
        (Certificate::generate(&mut rng, v).unwrap(), Certificate::generate(&mut rng, v).unwrap())
    })
}

fn endpoints(cookies: bool, mtu: usize) -> (Endpoint, Endpoint) {
    let (a, b) = certs();
    let mut server: Endpoint =
        Endpoint::new(Config::new(Role::Server, a.clone(), [2; 32]).with_cookies(cookies).with_mtu(mtu), Instant::ZERO);
    let mut client: Endpoint = Endpoint::new(Config::new(Role::Client, b.clone(), [3; 32]).with_mtu(mtu), Instant::ZERO);
    client.connect(Instant::ZERO);
    server.set_remote_fingerprint(b.fingerprint(HashAlgorithm::Sha256));
    client.set_remote_fingerprint(a.fingerprint(HashAlgorithm::Sha256));
    (client, server)
}

fn drain(ep: &mut Endpoint, now: Instant, out: &mut Vec<Vec<u8>>) {
    let mut buf = [0u8; 1500];
    while let Ok(Some(t)) = ep.poll_transmit(&mut buf) {
        out.push(t.to_vec());
    }
    while ep.poll_event().is_some() {}
    if ep.poll_timeout().is_some_and(|t| t <= now) {
        ep.handle_timeout(now);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else { return };
    if mode % 2 == 0 {
        let (mut client, mut server) = endpoints(mode & 2 != 0, 300);
        let mut rest = data;
        let mut t = 0u64;
        while rest.len() >= 2 {
            let n = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
            let datagram = rest[2..2 + n].to_vec();
            rest = &rest[2 + n..];
            t += 100;
            let now = Instant::from_millis(t);
            server.handle_packet(now, &mut datagram.clone());
            client.handle_packet(now, &mut datagram.clone());
            let mut sink = Vec::new();
            drain(&mut server, now, &mut sink);
            drain(&mut client, now, &mut sink);
        }
        return;
    }
    // A real exchange, edited in flight.
    let mtu = 100 + usize::from(mode >> 1) * 8;
    let (mut client, mut server) = endpoints(mode & 2 != 0, mtu);
    let mut ops = data.iter().copied();
    let mut held: Option<(bool, Vec<u8>)> = None;
    let mut now = Instant::ZERO;
    for _ in 0..64 {
        let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
        drain(&mut client, now, &mut to_server);
        drain(&mut server, now, &mut to_client);
        if to_server.is_empty() && to_client.is_empty() && held.is_none() {
            // Nothing in flight: let timers fire.
            now = now + core::time::Duration::from_millis(1100);
            client.handle_timeout(now);
            server.handle_timeout(now);
            if ops.len() == 0 {
                break;
            }
            continue;
        }
        let all = to_server.into_iter().map(|d| (true, d)).chain(to_client.into_iter().map(|d| (false, d)));
        for (to_srv, mut d) in all {
            let op = ops.next().unwrap_or(0);
            let arg = ops.next().unwrap_or(0);
            let mut deliver = vec![];
            match op % 6 {
                0 => deliver.push(d),
                1 => {}
                2 => {
                    deliver.push(d.clone());
                    deliver.push(d);
                }
                3 => {
                    if let Some((dir, old)) = held.replace((to_srv, d)) {
                        if dir == to_srv {
                            deliver.push(old);
                        }
                    }
                }
                4 => {
                    if !d.is_empty() {
                        let i = usize::from(arg) * 7 % d.len();
                        d[i] ^= ops.next().unwrap_or(1) | 1;
                    }
                    deliver.push(d);
                }
                _ => {
                    d.truncate(usize::from(arg) * 5 % (d.len() + 1));
                    deliver.push(d);
                }
            }
            for mut d in deliver {
                if to_srv {
                    server.handle_packet(now, &mut d);
                } else {
                    client.handle_packet(now, &mut d);
                }
            }
        }
        if let Some((to_srv, mut d)) = held.take_if(|_| ops.len() % 3 == 0) {
            if to_srv {
                server.handle_packet(now, &mut d);
            } else {
                client.handle_packet(now, &mut d);
            }
        }
        if client.is_connected() && server.is_connected() {
            let _ = client.send(b"fuzz");
            let _ = server.send(b"fuzz");
        }
    }
});
