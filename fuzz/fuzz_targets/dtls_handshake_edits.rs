//! A real DTLS handshake whose datagrams the input edits in flight, from the round the input
//! picks: `Endpoint::handle_packet` never panics, whatever is dropped, duplicated, held back,
//! flipped or cut. Fixed seeds make every run's randoms the same.
//!
//! ```text
//!  once per process:  two certificates; per (cookies, MTU) on first use, the pair at the
//!                     start of every round of a clean handshake, kept
//!  per input:         byte 0 = cookies and MTU, byte 1 = the round to start from (a clone),
//!                     then per datagram one op byte (pass / drop / duplicate / hold back /
//!                     flip a byte at an offset / truncate) and its argument bytes
//! ```
//!
//! This is the one stateful target bound by public-key work: a flight that gets through
//! costs the receiver its signature checks and ECDH, as in a real handshake (starting from a
//! later round skips the ones before). `dtls_handle_packet` covers the rest from prepared
//! states at thousands of runs a second. Cloning exists only under `--cfg fuzzing`.
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
    /// (cookies, MTU) -> the pair at the start of every round of a clean handshake.
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
    Prepared {
        certs,
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

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    PREPARED.with(|p| {
        // A real exchange, edited in flight from the round the byte after the mode picks.
        let cookies = mode & 1 != 0;
        let mtu = 100 + usize::from(mode >> 1) * 8;
        let Some((&start, data)) = data.split_first() else {
            return;
        };
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
        let start = usize::from(start) % snaps.len();
        let mut s = snaps[start].clone();
        drop(rounds);
        let mut ops = data.iter().copied();
        run(&mut s, &mut ops, 64 - start, |_| false, |_| {});
    });
});
