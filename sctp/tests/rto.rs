//! The retransmission timer and the congestion window against RFC 9260's numbers (§6.3, §7.2).

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pair;

use pair::*;

#[test]
fn rto_and_congestion_window_follow_rfc9260() {
    let (mut a, mut b, mut sa, mut sb) = established(true, true);
    // A negotiated channel: no DCEP traffic, so the first RTT sample is the one below.
    let negotiated = ChannelOptions {
        negotiated: Some(StreamId(1)),
        ..ChannelOptions::default()
    };
    let ch = a.open_channel("cc", "", negotiated).unwrap();
    b.open_channel("cc", "", negotiated).unwrap();
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    // §7.2.1: initial cwnd = min(4 MTU, max(2 MTU, 4380)) = 4380 for a 1200-byte MTU.
    assert_eq!(a.stats().cwnd, 4380);
    a.send(ch, MessageKind::Binary, &[9; 20 * 1172]).unwrap();
    // §6.1 B: new data may go while the flight is below cwnd: four full chunks (4688 bytes).
    let t0 = Instant::from_millis(1000);
    let burst = {
        let mut out = Vec::new();
        let mut buf = [0u8; 1500];
        a.handle_timeout(t0);
        while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
            out.push(t.to_vec());
        }
        out
    };
    assert_eq!(data_chunks(&burst), 4);
    assert_eq!(a.stats().flight_size, 4 * 1172);
    // The peer answers 50 ms later (one SACK per two packets), arriving 100 ms after sending.
    let t1 = t0 + core::time::Duration::from_millis(50);
    let mut sacks = Vec::new();
    for p in burst {
        b.handle_packet(t1, &p);
        sacks.extend(drain(&mut b));
    }
    assert_eq!(sacks.len(), 2);
    let t2 = t0 + core::time::Duration::from_millis(100);
    for p in sacks {
        a.handle_packet(t2, &p);
    }
    // §6.3.1 C2: the first measurement R = 100 ms gives SRTT = R, RTTVAR = R/2,
    // RTO = SRTT + 4 RTTVAR = 300 ms.
    let stats = a.stats();
    assert_eq!(stats.srtt, core::time::Duration::from_millis(100));
    assert_eq!(stats.rto, core::time::Duration::from_millis(300));
    // §7.2.1 slow start: each SACK that advances the cumulative ack while cwnd was fully used
    // adds min(bytes acked, MTU): two SACKs, +1200 each.
    assert_eq!(stats.cwnd, 4380 + 2 * 1200);
    // §6.3.3: everything sent now is lost; T3 fires after one RTO and doubles it, cwnd falls
    // to one MTU and ssthresh to max(cwnd/2, 4 MTU).
    let lost = drain(&mut a);
    assert!(data_chunks(&lost) > 0);
    let t3 = a.poll_timeout().unwrap();
    assert_eq!(t3, t2 + core::time::Duration::from_millis(300));
    a.handle_timeout(t3);
    let stats = a.stats();
    assert_eq!(stats.rto, core::time::Duration::from_millis(600));
    assert_eq!(stats.cwnd, 1200);
    assert_eq!(stats.ssthresh, 4800);
    assert_eq!(stats.t3_expirations, 1);
    // One MTU of retransmission goes out.
    let again = drain(&mut a);
    assert_eq!(data_chunks(&again), 1);
    assert_eq!(a.stats().retransmissions, 1);
}
