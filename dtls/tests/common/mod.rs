//! Shared helpers: certificates, a pair of endpoints wired back to back.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use peerless_base::{Drbg, Instant};
use peerless_dtls::*;

pub fn cert(seed: u8) -> Certificate {
    let mut rng = Drbg::from_seed(&[seed; 32], b"test-cert");
    Certificate::generate(&mut rng, Validity::days_from(1_700_000_000, 30)).unwrap()
}

pub type Connected = (CipherSuite, Option<SrtpProfile>, SrtpKeyingMaterial);

pub struct Pair {
    pub client: Endpoint,
    pub server: Endpoint,
    pub now: Instant,
    pub client_connected: Option<Connected>,
    pub server_connected: Option<Connected>,
    pub client_closed: Option<CloseReason>,
    pub server_closed: Option<CloseReason>,
    pub client_data: Vec<Vec<u8>>,
    pub server_data: Vec<Vec<u8>>,
    pub client_fp: Fingerprint,
    pub server_fp: Fingerprint,
    pub late_fingerprint: bool,
    /// Datagrams from the client to the server go through this filter (None: dropped).
    pub c2s: Box<dyn FnMut(Vec<u8>) -> Vec<Vec<u8>>>,
    pub s2c: Box<dyn FnMut(Vec<u8>) -> Vec<Vec<u8>>>,
}

impl Pair {
    pub fn new(seed: u8, tweak: impl Fn(Config) -> Config) -> Self {
        let (cc, sc) = (
            cert(seed.wrapping_mul(2)),
            cert(seed.wrapping_mul(2).wrapping_add(1)),
        );
        let (client_fp, server_fp) = (
            cc.fingerprint(HashAlgorithm::Sha256),
            sc.fingerprint(HashAlgorithm::Sha256),
        );
        let now = Instant::from_secs(1);
        let mut client = Endpoint::new(tweak(Config::new(Role::Client, cc, [seed; 32])), now);
        client.connect(now);
        let server = Endpoint::new(tweak(Config::new(Role::Server, sc, [seed ^ 0x55; 32])), now);
        Pair {
            client,
            server,
            now,
            client_connected: None,
            server_connected: None,
            client_closed: None,
            server_closed: None,
            client_data: Vec::new(),
            server_data: Vec::new(),
            client_fp,
            server_fp,
            late_fingerprint: false,
            c2s: Box::new(|d| vec![d]),
            s2c: Box::new(|d| vec![d]),
        }
    }

    pub fn set_fingerprints(&mut self) {
        self.client.set_remote_fingerprint(self.server_fp);
        self.server.set_remote_fingerprint(self.client_fp);
    }

    fn drain(
        ep: &mut Endpoint,
        connected: &mut Option<Connected>,
        closed: &mut Option<CloseReason>,
        data: &mut Vec<Vec<u8>>,
    ) {
        while let Some(ev) = ep.poll_event() {
            match ev {
                Event::Connected {
                    cipher_suite,
                    srtp_profile,
                    keys,
                } => {
                    assert!(connected.is_none(), "Connected twice");
                    *connected = Some((cipher_suite, srtp_profile, keys.unwrap()));
                }
                Event::ApplicationData(d) => data.push(d.to_vec()),
                Event::Closed(r) => {
                    assert!(closed.is_none(), "Closed twice");
                    *closed = Some(r);
                }
                other => panic!("an event this harness does not know: {other:?}"),
            }
        }
    }

    /// Moves datagrams both ways until nothing is left; returns the datagram count.
    pub fn pump(&mut self) -> usize {
        if !self.late_fingerprint {
            self.set_fingerprints();
            self.late_fingerprint = true;
        }
        let mut moved = 0;
        let mut buf = vec![0u8; 2000];
        loop {
            let mut progress = false;
            while let Some(t) = self.client.poll_transmit(&mut buf).unwrap() {
                for mut d in (self.c2s)(t.to_vec()) {
                    self.server.handle_packet(self.now, &mut d);
                }
                moved += 1;
                progress = true;
            }
            while let Some(t) = self.server.poll_transmit(&mut buf).unwrap() {
                for mut d in (self.s2c)(t.to_vec()) {
                    self.client.handle_packet(self.now, &mut d);
                }
                moved += 1;
                progress = true;
            }
            Self::drain(
                &mut self.client,
                &mut self.client_connected,
                &mut self.client_closed,
                &mut self.client_data,
            );
            Self::drain(
                &mut self.server,
                &mut self.server_connected,
                &mut self.server_closed,
                &mut self.server_data,
            );
            if !progress {
                return moved;
            }
        }
    }

    /// Pumps, firing timers, until both sides are connected (or 120 s of virtual time pass).
    pub fn run_until_connected(&mut self) {
        for _ in 0..200 {
            self.pump();
            if self.client_connected.is_some() && self.server_connected.is_some() {
                return;
            }
            if self.client_closed.is_some() || self.server_closed.is_some() {
                break;
            }
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else { break };
            self.now = self.now.max(next);
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
        }
        panic!(
            "no connection: client {:?} {:?}, server {:?} {:?}, stats {:?} / {:?}",
            self.client_connected.as_ref().map(|c| c.0),
            self.client_closed,
            self.server_connected.as_ref().map(|c| c.0),
            self.server_closed,
            self.client.stats(),
            self.server.stats()
        );
    }

    pub fn exchange_app_data(&mut self) {
        let n = self.client_data.len();
        let m = self.server_data.len();
        self.client.send(b"hello from the client").unwrap();
        self.server.send(b"hello from the server").unwrap();
        self.pump();
        assert_eq!(self.server_data[m..], [b"hello from the client".to_vec()]);
        assert_eq!(self.client_data[n..], [b"hello from the server".to_vec()]);
    }
}
