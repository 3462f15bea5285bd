//! SRTP over the simulated network: a sender protects an audio-like stream (20 ms RTP
//! packets crossing a sequence-number rollover, an SRTCP sender report every second); the
//! link loses, duplicates and reorders. The receiver must decrypt every packet that arrives
//! once, reject every duplicate as a replay, and never see an authentication failure.

// Test helpers outside #[test] functions: a failure must stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::net::SocketAddr;
use core::time::Duration;
use std::collections::BTreeSet;

use peerless_base::{BufferTooSmall, Instant};
use peerless_proptest::sim::{LinkConfig, Network, Node, Outgoing};
use peerless_rtp::packet::{Header, Packet};
use peerless_rtp::rtcp::{CompoundBuilder, SenderInfo};
use peerless_srtp::{Config, Context, Error, Profile, Role, SessionKeys};

const SSRC: u32 = 0x5eed_0001;
const FIRST_SEQ: u16 = 65_400;

enum Peer {
    Sender {
        ctx: Context,
        to: SocketAddr,
        sent: u32,
        total: u32,
        next: Instant,
        out: Option<Vec<u8>>,
    },
    Receiver {
        ctx: Context,
        received: BTreeSet<u32>,
        rtcp_received: u32,
        errors: Vec<Error>,
        corrupt: u32,
    },
}

fn payload_for(n: u32) -> Vec<u8> {
    let mut p = n.to_be_bytes().to_vec();
    p.extend((0..156).map(|i| (n as u8).wrapping_mul(31).wrapping_add(i)));
    p
}

impl Peer {
    fn produce(&mut self) {
        let Peer::Sender {
            ctx,
            sent,
            total,
            out,
            ..
        } = self
        else {
            return;
        };
        if *sent >= *total || out.is_some() {
            return;
        }
        let n = *sent;
        *sent += 1;
        let mut buf = vec![0u8; 1500];
        let len = if n % 50 == 49 {
            // An SR once a second, like a real sender.
            let mut b = CompoundBuilder::new(&mut buf);
            b.sender_report(
                SSRC,
                &SenderInfo {
                    packet_count: n,
                    ..SenderInfo::default()
                },
                &[],
            );
            let len = b.finish().expect("SR fits");
            ctx.protect_rtcp(&mut buf, len).expect("protect_rtcp")
        } else {
            let header = Header {
                payload_type: 111,
                sequence_number: FIRST_SEQ.wrapping_add(n as u16),
                timestamp: n * 960,
                ssrc: SSRC,
                ..Header::default()
            };
            let len = header.emit(&payload_for(n), &mut buf).expect("emit");
            ctx.protect_rtp(&mut buf, len).expect("protect_rtp")
        };
        buf.truncate(len);
        *out = Some(buf);
    }
}

impl Node for Peer {
    fn handle_packet(
        &mut self,
        _now: Instant,
        _from: SocketAddr,
        _to: SocketAddr,
        packet: &mut [u8],
    ) {
        let Peer::Receiver {
            ctx,
            received,
            rtcp_received,
            errors,
            corrupt,
        } = self
        else {
            return;
        };
        // RFC 5761 demultiplexing of RTP and RTCP on one port.
        if peerless_rtp::rtcp::is_rtcp(packet) {
            match ctx.unprotect_rtcp(packet) {
                Ok(_) => *rtcp_received += 1,
                Err(e) => errors.push(e),
            }
            return;
        }
        match ctx.unprotect_rtp(packet) {
            Ok(len) => {
                let rtp = Packet::parse(&packet[..len]).expect("decrypted RTP parses");
                let n = u32::from_be_bytes(rtp.payload()[..4].try_into().expect("4 bytes"));
                if rtp.payload() != payload_for(n) || !received.insert(n) {
                    *corrupt += 1;
                }
            }
            Err(e) => errors.push(e),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if let Peer::Sender { next, .. } = self
            && now >= *next
        {
            *next = now + Duration::from_millis(20);
            self.produce();
        }
    }

    fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Outgoing<'b>>, BufferTooSmall> {
        let Peer::Sender { out, to, .. } = self else {
            return Ok(None);
        };
        let Some(bytes) = out.take() else {
            return Ok(None);
        };
        let dst = buf.get_mut(..bytes.len()).ok_or(BufferTooSmall {
            needed: bytes.len(),
        })?;
        dst.copy_from_slice(&bytes);
        Ok(Some(Outgoing::To(*to, dst)))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Peer::Sender {
                sent, total, next, ..
            } if sent < total => Some(*next),
            _ => None,
        }
    }

    fn drain_events(&mut self, _now: Instant) {}
}

struct Outcome {
    trace: u64,
    received: usize,
    rtcp_received: u32,
    errors: Vec<Error>,
    corrupt: u32,
    delivered: u64,
    duplicated: u64,
    roc: Option<u32>,
    auth_failures: u64,
}

fn run(seed: u64, profile: Profile, total: u32, link: LinkConfig) -> Outcome {
    let exported: Vec<u8> = (0..profile.keying_material_len())
        .map(|i| (i as u8) ^ (seed as u8))
        .collect();
    let client = SessionKeys::from_dtls_srtp(profile, &exported, Role::Client).expect("keys");
    let server = SessionKeys::from_dtls_srtp(profile, &exported, Role::Server).expect("keys");
    let (a, b): (SocketAddr, SocketAddr) = (
        "10.0.0.1:5000".parse().unwrap(),
        "10.0.0.2:5000".parse().unwrap(),
    );
    let mut net = Network::new(seed);
    net.add(
        Peer::Sender {
            ctx: client.local_context(Config::default()).expect("ctx"),
            to: b,
            sent: 0,
            total,
            next: Instant::ZERO,
            out: None,
        },
        a,
        link.clone(),
    );
    let rx = net.add(
        Peer::Receiver {
            ctx: server.remote_context(Config::default()).expect("ctx"),
            received: BTreeSet::new(),
            rtcp_received: 0,
            errors: Vec::new(),
            corrupt: 0,
        },
        b,
        link,
    );
    net.run_for(Duration::from_millis(20 * u64::from(total) + 2_000));
    let stats = net.stats();
    let Peer::Receiver {
        ctx,
        received,
        rtcp_received,
        errors,
        corrupt,
    } = net.node(rx)
    else {
        unreachable!()
    };
    Outcome {
        trace: net.trace_hash(),
        received: received.len(),
        rtcp_received: *rtcp_received,
        errors: errors.clone(),
        corrupt: *corrupt,
        delivered: stats.delivered,
        duplicated: stats.duplicated,
        roc: ctx.roc(SSRC),
        auth_failures: ctx.stats().dropped_auth,
    }
}

fn seeds() -> u64 {
    std::env::var("SRTP_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4)
}

#[test]
fn lossy_reordering_duplicating_link_every_profile() {
    let link = LinkConfig {
        jitter: Duration::from_millis(70), // packets 20 ms apart overtake each other
        ..LinkConfig::lossy(0.05, 0.05)
    };
    for seed in 0..seeds() {
        for profile in Profile::ALL {
            let o = run(seed, profile, 600, link.clone());
            assert_eq!(o.auth_failures, 0, "{profile} seed {seed}");
            assert_eq!(
                o.corrupt, 0,
                "{profile} seed {seed}: wrong or doubly accepted payload"
            );
            // Every datagram delivered is either accepted once or rejected as a replay of
            // one already accepted: the duplicates, and nothing else.
            assert!(
                o.errors.iter().all(|e| *e == Error::Replayed),
                "{profile}: {:?}",
                o.errors
            );
            assert_eq!(o.errors.len() as u64, o.duplicated, "{profile} seed {seed}");
            assert_eq!(
                o.received as u64 + u64::from(o.rtcp_received) + o.duplicated,
                o.delivered,
                "{profile} seed {seed}"
            );
            // 600 packets from 65400 cross the rollover; the receiver followed it.
            assert_eq!(o.roc, Some(1), "{profile} seed {seed}");
            assert!(
                o.received > 500 && o.rtcp_received > 5,
                "{profile}: {} / {}",
                o.received,
                o.rtcp_received
            );
        }
    }
}

#[test]
fn the_same_seed_replays_the_same_run() {
    let link = LinkConfig {
        jitter: Duration::from_millis(70),
        ..LinkConfig::lossy(0.1, 0.1)
    };
    let first = run(11, Profile::AeadAes128Gcm, 300, link.clone());
    let again = run(11, Profile::AeadAes128Gcm, 300, link.clone());
    assert_eq!(first.trace, again.trace);
    assert_eq!(first.received, again.received);
    assert_ne!(
        first.trace,
        run(12, Profile::AeadAes128Gcm, 300, link).trace
    );
}
