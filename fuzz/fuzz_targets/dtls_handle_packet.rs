//! `Endpoint::handle_packet` under arbitrary input, never a panic. Fixed seeds make every
//! run's randoms the same, so the fuzzer can go deep. Every input starts from a prepared
//! state, cloned, so none spends public-key work to get there (the handshake's early flights
//! edited in flight, where every input redoes signatures and ECDH, are `dtls_handshake_edits`).
//!
//! ```text
//!  once per process:  two certificates; a fresh (client, server) pair per cookie setting;
//!                     a connected pair; per (cookies, MTU) on first use, the pair at the
//!                     last round of a clean handshake (the server's Finished in flight)
//!  mode % 4:  0, 2  raw datagrams (each after a 2-byte length) into a fresh server and
//!                   client (2: the server sends cookies)
//!             1     the handshake's last round, its datagrams edited in flight: per
//!                   datagram one op byte (pass / drop / duplicate / hold back / flip a byte
//!                   at an offset / truncate) and its argument bytes
//!             3     the connected pair: op bytes send (either side, any length), inject a
//!                   raw datagram, let time pass, close, each datagram edited as in 1
//! ```
//!
//! Cloning exists only under cargo-fuzz's `--cfg fuzzing` (a cloned endpoint in a product
//! would reuse its nonces).
#![no_main]

use std::cell::RefCell;
use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use peerless_base::{Drbg, Instant};
use peerless_dtls::{Certificate, Config, Endpoint, HashAlgorithm, Role, Validity};

/// One round of the exchange: both endpoints and the virtual time.
#[derive(Clone)]
struct Snapshot {
    client: Endpoint,
    server: Endpoint,
    now: Instant,
}

struct Prepared {
    certs: (Certificate, Certificate),
    /// Fresh pairs at MTU 300, without and with cookies.
    fresh: [Snapshot; 2],
    connected: Snapshot,
    /// (cookies, MTU) -> the pair at the start of every round of a clean handshake (the last
    /// one is used).
    rounds: RefCell<HashMap<(bool, usize), Vec<Snapshot>>>,
}

fn endpoints(certs: &(Certificate, Certificate), cookies: bool, mtu: usize) -> Snapshot {
    let (a, b) = certs;
    let mut server: Endpoint = Endpoint::new(
        Config::new(Role::Server, a.clone(), [2; 32])
            .with_cookies(cookies)
            .with_mtu(mtu),
        Instant::ZERO,
    );
    let mut client: Endpoint = Endpoint::new(
        Config::new(Role::Client, b.clone(), [3; 32]).with_mtu(mtu),
        Instant::ZERO,
    );
    client.connect(Instant::ZERO);
    server.set_remote_fingerprint(b.fingerprint(HashAlgorithm::Sha256));
    client.set_remote_fingerprint(a.fingerprint(HashAlgorithm::Sha256));
    Snapshot {
        client,
        server,
        now: Instant::ZERO,
    }
}

fn prepare() -> Prepared {
    let mut rng = Drbg::from_seed(&[1; 32], b"fuzz");
    let v = Validity::days_from(1_700_000_000, 1);
    let certs = (
        Certificate::generate(&mut rng, v).unwrap(),
        Certificate::generate(&mut rng, v).unwrap(),
    );
    let fresh = [endpoints(&certs, false, 300), endpoints(&certs, true, 300)];
    let mut connected = endpoints(&certs, false, 1200);
    let mut ops = core::iter::empty();
    run(
        &mut connected,
        &mut ops,
        64,
        |s| s.client.is_connected() && s.server.is_connected(),
        |_| {},
    );
    assert!(
        connected.client.is_connected() && connected.server.is_connected(),
        "the prepared pair did not connect"
    );
    Prepared {
        certs,
        fresh,
        connected,
        rounds: RefCell::new(HashMap::new()),
    }
}

thread_local! {
    static PREPARED: Prepared = prepare();
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

/// Up to `rounds` rounds of the exchange, each datagram edited by the next op byte (none
/// left: passed). `done` ends it early; `at_round` sees the pair at the start of every round.
fn run(
    s: &mut Snapshot,
    ops: &mut impl ExactSizeIterator<Item = u8>,
    rounds: usize,
    done: impl Fn(&Snapshot) -> bool,
    mut at_round: impl FnMut(&Snapshot),
) {
    let mut held: Option<(bool, Vec<u8>)> = None;
    for _ in 0..rounds {
        at_round(s);
        let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
        drain(&mut s.client, s.now, &mut to_server);
        drain(&mut s.server, s.now, &mut to_client);
        if to_server.is_empty() && to_client.is_empty() && held.is_none() {
            // Nothing in flight: let timers fire.
            s.now = s.now + core::time::Duration::from_millis(1100);
            s.client.handle_timeout(s.now);
            s.server.handle_timeout(s.now);
            if ops.len() == 0 || done(s) {
                break;
            }
            continue;
        }
        let all = to_server
            .into_iter()
            .map(|d| (true, d))
            .chain(to_client.into_iter().map(|d| (false, d)));
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
                    s.server.handle_packet(s.now, &mut d);
                } else {
                    s.client.handle_packet(s.now, &mut d);
                }
            }
        }
        if let Some((to_srv, mut d)) = held.take_if(|_| ops.len() % 3 == 0) {
            if to_srv {
                s.server.handle_packet(s.now, &mut d);
            } else {
                s.client.handle_packet(s.now, &mut d);
            }
        }
        if s.client.is_connected() && s.server.is_connected() {
            if done(s) {
                break;
            }
            let _ = s.client.send(b"fuzz");
            let _ = s.server.send(b"fuzz");
        }
    }
}

fn raw(mut s: Snapshot, mut rest: &[u8]) {
    let mut t = 0u64;
    while rest.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let datagram = rest[2..2 + n].to_vec();
        rest = &rest[2 + n..];
        t += 100;
        let now = Instant::from_millis(t);
        s.server.handle_packet(now, &mut datagram.clone());
        s.client.handle_packet(now, &mut datagram.clone());
        let mut sink = Vec::new();
        drain(&mut s.server, now, &mut sink);
        drain(&mut s.client, now, &mut sink);
    }
}

/// The connected pair under the input's commands, each followed by one edited round.
fn connected(mut s: Snapshot, data: &[u8]) {
    let mut ops = data.iter().copied();
    while let Some(op) = ops.next() {
        let arg = ops.next().unwrap_or(0);
        match op % 6 {
            0 | 1 => {
                let len = usize::from(arg) * 23;
                let body: Vec<u8> = data.iter().copied().cycle().take(len).collect();
                let _ = if op % 6 == 0 {
                    s.client.send(&body)
                } else {
                    s.server.send(&body)
                };
            }
            2 => {
                let n = usize::from(ops.next().unwrap_or(0)) * 4;
                let mut d: Vec<u8> = ops.by_ref().take(n).collect();
                if arg & 1 == 0 {
                    s.server.handle_packet(s.now, &mut d);
                } else {
                    s.client.handle_packet(s.now, &mut d);
                }
            }
            3 => {
                s.now = s.now + core::time::Duration::from_millis(u64::from(arg) * 50);
                s.client.handle_timeout(s.now);
                s.server.handle_timeout(s.now);
            }
            4 if arg == 0xff => {
                if op & 0x80 == 0 {
                    s.client.close(s.now);
                } else {
                    s.server.close(s.now);
                }
            }
            _ => {}
        }
        run(&mut s, &mut ops, 1, |_| true, |_| {});
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    PREPARED.with(|p| match mode % 4 {
        0 => raw(p.fresh[0].clone(), data),
        2 => raw(p.fresh[1].clone(), data),
        3 => connected(p.connected.clone(), data),
        _ => {
            // The end of a real exchange, edited in flight.
            let cookies = mode & 4 != 0;
            let mtu = 100 + usize::from(mode >> 3) * 32;
            let mut rounds = p.rounds.borrow_mut();
            let snaps = rounds.entry((cookies, mtu)).or_insert_with(|| {
                let mut s = endpoints(&p.certs, cookies, mtu);
                let mut all = Vec::new();
                let mut ops = core::iter::empty();
                run(
                    &mut s,
                    &mut ops,
                    64,
                    |s| s.client.is_connected() && s.server.is_connected(),
                    |s| all.push(s.clone()),
                );
                all
            });
            // The last round: every signature and key agreement is behind it.
            let start = snaps.len() - 1;
            let mut s = snaps[start].clone();
            drop(rounds);
            let mut ops = data.iter().copied();
            run(&mut s, &mut ops, 64 - start, |_| false, |_| {});
        }
    });
});
