//! A simulated call: a sender streams through a lossy path to a receiver whose NACK machine
//! (rtp::receive) asks for what is missing in RTCP; the sender's history answers as RTX over
//! the same lossy path. Both directions lose packets at random; the outcome is asserted: every
//! retransmission carries exactly the lost packet's payload, and nearly every loss is repaired
//! with a generous budget, while a tight budget holds and repairs less.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::time::Duration;

use peerless_base::{Drbg, Instant};
use peerless_rtp::receive::{NackConfig, NackPair as ReceiverNackPair, NackRequests};
use peerless_rtp::rtcp::{Compound, CompoundBuilder, FeedbackSsrcs, Kind, NackPair};
use peerless_rtp::send::{HistoryConfig, Rtx, SendHistory};

const SSRC: u32 = 0x1234_5678;
const RTX_SSRC: u32 = 0x8765_4321;
const ONE_WAY: Duration = Duration::from_millis(50);

/// A path that drops a fraction of what it carries and delivers the rest after `ONE_WAY`.
struct Path {
    rng: Drbg,
    loss_per_mille: u64,
    in_flight: Vec<(Instant, Vec<u8>)>,
}

impl Path {
    fn send(&mut self, now: Instant, bytes: &[u8]) {
        if self.rng.below(1000) >= self.loss_per_mille {
            self.in_flight.push((now + ONE_WAY, bytes.to_vec()));
        }
    }

    fn arrived(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let (due, rest) = self.in_flight.drain(..).partition(|(at, _)| *at <= now);
        self.in_flight = rest;
        due.into_iter().map(|(_, b)| b).collect()
    }
}

fn original(seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 90).to_be_bytes());
    p.extend_from_slice(&SSRC.to_be_bytes());
    p.extend((0..1000).map(|i| (i as u16 ^ seq) as u8));
    p
}

struct Outcome {
    lost: u64,
    repaired: u64,
    gave_up: u64,
    resent_bytes: u64,
    rate_limited: u64,
}

/// 20 s at 200 packets a second (1.6 Mbit/s), 5 % loss each way, an RTT of 100 ms.
fn call(seed: u8, budget_bytes_per_second: u32) -> Outcome {
    let mut seed_bytes = [0u8; 32];
    seed_bytes[0] = seed;
    let mut forward = Path {
        rng: Drbg::from_seed(&seed_bytes, b"forward"),
        loss_per_mille: 50,
        in_flight: Vec::new(),
    };
    let mut backward = Path {
        rng: Drbg::from_seed(&seed_bytes, b"backward"),
        loss_per_mille: 50,
        in_flight: Vec::new(),
    };
    let (ring, packets) = (512 * 1024, 512);
    let config = HistoryConfig {
        rtx: Some(Rtx::new(RTX_SSRC, 1000, 96, 97)),
        budget_bytes_per_second,
        budget_burst_bytes: budget_bytes_per_second / 4,
        min_resend_interval: Duration::from_millis(80),
    };
    let mut history: SendHistory<Vec<u8>> = SendHistory::new(
        config,
        vec![0u8; SendHistory::<Vec<u8>>::area_for(packets, ring)],
        packets,
    );
    let mut nacks: NackRequests<512> = NackRequests::new(NackConfig {
        max_age: Duration::from_millis(1000),
        ..NackConfig::default()
    });
    nacks.set_round_trip_time(2 * ONE_WAY);
    let mut received = std::collections::HashSet::new();
    let mut buf = [0u8; 1500];
    let mut pairs = [ReceiverNackPair::default(); 32];
    let mut seq = 65_000u16; // across the wrap
    for ms in 0..21_000u64 {
        let now = Instant::from_millis(ms);
        // Sender: a packet every 5 ms for 20 s.
        if ms % 5 == 0 && ms < 20_000 {
            let p = original(seq);
            history.record(now, &p).unwrap();
            forward.send(now, &p);
            seq = seq.wrapping_add(1);
        }
        // Receiver: originals and RTX (unwrapped by its OSN, checked against the original).
        for p in forward.arrived(now) {
            let ssrc = u32::from_be_bytes(p[8..12].try_into().unwrap());
            let s = if ssrc == RTX_SSRC {
                assert_eq!(p[1] & 0x7f, 97);
                let osn = u16::from_be_bytes([p[12], p[13]]);
                assert_eq!(
                    p[14..],
                    original(osn)[12..],
                    "RTX for {osn} carries its payload"
                );
                osn
            } else {
                u16::from_be_bytes([p[2], p[3]])
            };
            received.insert(s);
            nacks.record(now, s);
        }
        // Every 10 ms, NACKs due go out as RTCP.
        if ms % 10 == 0 {
            let n = nacks.poll_nack(now, &mut pairs);
            if n > 0 {
                let wire: Vec<NackPair> = pairs[..n]
                    .iter()
                    .map(|p| NackPair {
                        pid: p.pid,
                        blp: p.blp,
                    })
                    .collect();
                let mut rtcp = [0u8; 512];
                let mut b = CompoundBuilder::new(&mut rtcp);
                b.nack(
                    FeedbackSsrcs {
                        sender: 1,
                        media: SSRC,
                    },
                    &wire,
                );
                let len = b.finish().unwrap();
                backward.send(now, &rtcp[..len]);
            }
        }
        // Sender: NACKs in, RTX out.
        for rtcp in backward.arrived(now) {
            let compound = Compound::parse(&rtcp).unwrap();
            for packet in compound.packets() {
                if let Ok(Kind::Nack(nack)) = packet.kind() {
                    history.handle_nack(now, nack.lost());
                }
            }
            while let Some(r) = history.poll_transmit(&mut buf).unwrap() {
                assert!(r.rtx);
                forward.send(now, r.packet);
            }
        }
    }
    let stats = nacks.stats();
    assert!(
        received.len() as u64 + stats.gave_up >= 4000 - 2,
        "every packet arrived or was given up"
    );
    let h = history.stats();
    assert_eq!(h.dropped_nack_overwritten + h.dropped_nack_unsent, 0);
    Outcome {
        lost: stats.missing,
        repaired: stats.recovered,
        gave_up: stats.gave_up,
        resent_bytes: h.retransmitted_bytes,
        rate_limited: h.dropped_nack_rate_limited,
    }
}

#[test]
fn losses_are_repaired_by_rtx_over_a_lossy_path() {
    for seed in 0..4 {
        let o = call(seed, 100_000);
        println!(
            "seed {seed}: lost {} of 4000, repaired {}, gave up {}, {} bytes resent, {} NACKs over budget",
            o.lost, o.repaired, o.gave_up, o.resent_bytes, o.rate_limited
        );
        // 5 % of 4000 lost on the way (give or take); each needs one RTX to get through
        // (95 %) within a few tries of an RTT each.
        assert!((120..=300).contains(&o.lost), "{}", o.lost);
        assert!(
            o.repaired * 1000 >= o.lost * 995,
            "repaired {} of {}",
            o.repaired,
            o.lost
        );
        assert_eq!(o.rate_limited, 0);
    }
}

#[test]
fn a_tight_budget_holds_and_repairs_less() {
    // 5 000 bytes a second: about five RTX a second for ten losses a second.
    let o = call(9, 5_000);
    println!(
        "tight budget: lost {}, repaired {}, {} bytes resent in 20 s (budget 21 x 5 000 + 1 250 burst), {} NACKs over budget",
        o.lost, o.repaired, o.resent_bytes, o.rate_limited
    );
    // NACKs keep coming for a second after the stream ends: 21 s of budget.
    assert!(o.resent_bytes <= 21 * 5_000 + 1_250, "{}", o.resent_bytes);
    assert!(o.rate_limited > 0);
    assert!(o.repaired < o.lost * 7 / 10);
}
