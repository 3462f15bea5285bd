//! NACK requests on their own (retry by RTT, give up by tries and age, forget what the jitter
//! buffer passed) and in a simulated call: a burst loss recovered by retransmission before the
//! jitter buffer gives up, so every frame comes out contiguous.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use peerless_base::Instant;
use peerless_rtp::receive::{Config, JitterBuffer, NackConfig, NackPair, NackRequests};
use support::{Tagged, video_stream};

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

fn lost_in(pairs: &[NackPair]) -> Vec<u16> {
    let mut out = Vec::new();
    for p in pairs {
        out.push(p.pid);
        for bit in 0..16 {
            if p.blp & (1 << bit) != 0 {
                out.push(p.pid.wrapping_add(bit + 1));
            }
        }
    }
    out
}

fn config() -> NackConfig {
    NackConfig {
        reorder_delay: Duration::from_millis(5),
        max_tries: 3,
        max_age: Duration::from_millis(400),
        initial_rtt: Duration::from_millis(50),
    }
}

#[test]
fn a_gap_is_asked_for_after_the_reorder_delay_then_once_per_rtt_until_max_tries() {
    let mut nack = NackRequests::<64>::new(config());
    let mut pairs = [NackPair::default(); 4];
    nack.record(ms(0), 65534);
    nack.record(ms(1), 65535);
    // 0, 1, 2 and 4 lost across the wrap.
    nack.record(ms(2), 3);
    nack.record(ms(3), 5);
    // 0, 1, 2 went missing at 2 ms: due at 7; 4 at 3 ms: due at 8.
    assert_eq!(nack.poll_nack(ms(6), &mut pairs), 0);
    assert_eq!(nack.poll_nack(ms(7), &mut pairs), 1);
    assert_eq!(lost_in(&pairs[..1]), [0, 1, 2]);
    assert_eq!(nack.poll_timeout(), Some(ms(8)));
    assert_eq!(nack.poll_nack(ms(8), &mut pairs), 1);
    assert_eq!(lost_in(&pairs[..1]), [4]);
    // 1 arrives (reordered or retransmitted): not asked again.
    nack.record(ms(20), 1);
    assert_eq!(
        nack.poll_nack(ms(56), &mut pairs),
        0,
        "one RTT after 7 ms is 57"
    );
    assert_eq!(nack.poll_nack(ms(57), &mut pairs), 1);
    assert_eq!(lost_in(&pairs[..1]), [0, 2]);
    assert_eq!(nack.poll_nack(ms(58), &mut pairs), 1);
    assert_eq!(lost_in(&pairs[..1]), [4]);
    assert_eq!(nack.poll_nack(ms(108), &mut pairs), 1);
    assert_eq!(lost_in(&pairs[..1]), [0, 2, 4]);
    // Three tries each: given up at the next timeout, not asked a fourth time.
    assert_eq!(nack.missing().count(), 3);
    nack.handle_timeout(ms(109));
    assert_eq!(nack.missing().count(), 0);
    assert_eq!(nack.poll_nack(ms(500), &mut pairs), 0);
    let s = nack.stats();
    assert_eq!((s.missing, s.recovered, s.gave_up), (4, 1, 3));
    assert_eq!(s.requested, 3 + 1 + 2 + 1 + 3);
}

#[test]
fn pairs_pack_seventeen_per_pid_and_what_does_not_fit_waits() {
    let mut nack = NackRequests::<256>::new(NackConfig {
        reorder_delay: Duration::ZERO,
        ..config()
    });
    nack.record(ms(0), 100);
    nack.record(ms(0), 140); // 101..=139 lost: 39 packets
    let mut one = [NackPair::default(); 1];
    assert_eq!(nack.poll_nack(ms(0), &mut one), 1);
    assert_eq!(
        one[0],
        NackPair {
            pid: 101,
            blp: 0xffff
        }
    );
    let mut many = [NackPair::default(); 8];
    let n = nack.poll_nack(ms(0), &mut many);
    assert_eq!(lost_in(&many[..n]), (118..140).collect::<Vec<u16>>());
    assert_eq!(n, 2);
}

#[test]
fn too_old_and_forgotten_holes_are_counted() {
    let mut nack = NackRequests::<16>::new(config());
    nack.record(ms(0), 10);
    nack.record(ms(0), 50); // 39 lost, only the newest 15 fit the ring beside 50's slot
    assert_eq!(nack.missing().count(), 15);
    assert_eq!(nack.stats().dropped_too_old, 39 - 15);
    let fifth = nack.missing().nth(4).unwrap();
    nack.forget_before(fifth);
    assert_eq!(nack.missing().count(), 11);
    assert_eq!(nack.stats().forgotten, 4);
    // Age: given up 400 ms after going missing.
    nack.handle_timeout(ms(399));
    assert_eq!(nack.missing().count(), 11);
    nack.handle_timeout(ms(400));
    assert_eq!(nack.missing().count(), 0);
}

/// What travels on the simulated link.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// An RTP packet (index into the stream) reaches the receiver.
    Media(usize),
    /// A NACK with these sequence numbers reaches the sender.
    Nack(Vec<u16>),
}

#[test]
fn a_burst_loss_is_recovered_by_nack_and_every_frame_comes_out_contiguous() {
    // 60 frames at 30 fps, 4 packets each, 1 ms apart; 25 ms each way (RTT 50 ms).
    let stream = video_stream(65500, 0, 60, 30, |_| 4);
    let one_way = Duration::from_millis(25);
    // Lost on first sending: a burst of 9 (frames 10-12), and the first retransmission of
    // one of them.
    let burst: Vec<u16> = (0..9).map(|k| 65500u16.wrapping_add(41 + k)).collect();
    let mut lost_again = Some(burst[4]);

    let config = Config {
        max_frame: 1024,
        slot_size: 64,
        ..Config::video()
    };
    let mut jb = JitterBuffer::new(config, Tagged::default(), vec![0u8; config.area_for(128)]);
    let mut nack = NackRequests::<128>::new(NackConfig {
        initial_rtt: 2 * one_way,
        ..NackConfig::default()
    });
    let mut queue: BinaryHeap<Reverse<(Instant, Event)>> = BinaryHeap::new();
    for (i, p) in stream.iter().enumerate() {
        let sent = ms(1000 + (i as u64 / 4) * 33 + i as u64 % 4);
        if !burst.contains(&p.sequence) {
            queue.push(Reverse((sent + one_way, Event::Media(i))));
        }
    }
    let mut frames = Vec::new();
    let mut retransmitted = 0;
    let mut nacks_sent = 0;
    let mut now = ms(0);
    loop {
        // Next event: a delivery or a machine's deadline.
        let next_delivery = queue.peek().map(|Reverse((t, _))| *t);
        let next = [next_delivery, jb.poll_timeout(), nack.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else { break };
        now = now.max(next);
        // Everything arriving at this instant, before the machines are polled.
        while queue.peek().is_some_and(|Reverse((t, _))| *t <= now) {
            let Reverse((_, event)) = queue.pop().unwrap();
            match event {
                Event::Media(i) => {
                    let p = &stream[i];
                    nack.record(now, p.sequence);
                    let _ = jb.insert(now, p.as_media());
                }
                Event::Nack(lost) => {
                    for seq in lost {
                        let i = stream.iter().position(|p| p.sequence == seq).unwrap();
                        retransmitted += 1;
                        if lost_again == Some(seq) {
                            lost_again = None;
                            continue;
                        }
                        queue.push(Reverse((now + one_way, Event::Media(i))));
                    }
                }
            }
        }
        jb.handle_timeout(now);
        while let Some(f) = jb.poll_frame() {
            let f = f.unwrap();
            frames.push((f.data[0], f.contiguous));
        }
        if let Some(next) = jb.next_sequence() {
            nack.forget_before(next);
        }
        let mut pairs = [NackPair::default(); 8];
        let n = nack.poll_nack(now, &mut pairs);
        if n > 0 {
            nacks_sent += 1;
            queue.push(Reverse((now + one_way, Event::Nack(lost_in(&pairs[..n])))));
        }
        nack.handle_timeout(now);
    }
    assert_eq!(frames.len(), 60, "{frames:?}");
    assert!(
        frames
            .iter()
            .enumerate()
            .all(|(i, &(f, c))| f as usize == i && c)
    );
    assert_eq!(jb.stats().gaps_given_up, 0);
    let s = nack.stats();
    assert_eq!(s.missing, 9);
    assert_eq!(s.recovered, 9);
    assert_eq!(
        retransmitted, 10,
        "nine asked once, the one lost again asked twice"
    );
    assert_eq!(s.requested, 10);
    assert!(nacks_sent >= 2);
}

#[test]
fn nacks_written_by_the_rtcp_builder_list_exactly_the_missing_packets() {
    use peerless_rtp::rtcp::{Compound, CompoundBuilder, FeedbackSsrcs, Kind};
    let mut nack = NackRequests::<128>::new(NackConfig {
        reorder_delay: Duration::ZERO,
        ..config()
    });
    for seq in [65530u16, 65531, 65533, 2, 3, 30, 31, 50] {
        nack.record(ms(0), seq);
    }
    let missing: Vec<u16> = nack.missing().map(|s| s as u16).collect();
    let mut pairs = [NackPair::default(); 16];
    let n = nack.poll_nack(ms(0), &mut pairs);
    let mut buf = [0u8; 256];
    let mut b = CompoundBuilder::new(&mut buf);
    b.nack(
        FeedbackSsrcs {
            sender: 7,
            media: 9,
        },
        &pairs[..n],
    );
    let len = b.finish().unwrap();
    let compound = Compound::parse(&buf[..len]).unwrap();
    let Ok(Kind::Nack(parsed)) = compound.packets().next().unwrap().kind() else {
        panic!("not a NACK");
    };
    assert_eq!(parsed.lost().collect::<Vec<_>>(), missing);
    assert_eq!(missing.len(), 1 + 4 + 26 + 18);
}
