//! The send side fed hostile RTCP: any bytes, parsed as a compound, drive the send history
//! (every NACK), the transport-wide record (every transport-cc) and the RTT (every report
//! block). Nothing panics; every NACKed number is either retransmitted or counted; every
//! retransmission is the recorded packet (RTX-wrapped when the first byte says so).
#![no_main]

use core::time::Duration;

use libfuzzer_sys::fuzz_target;
use peerless_base::Instant;
use peerless_rtp::rtcp::{Compound, Kind};
use peerless_rtp::send::{
    HistoryConfig, NtpTime, Rtx, SendHistory, SenderStats, TwccSendRecord, TwccSlot,
};

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, rtcp)) = data.split_first() else { return };
    const PACKETS: usize = 97;
    let mut area = [0u8; SendHistory::<&mut [u8]>::area_for(PACKETS, 8192)];
    let config = HistoryConfig {
        rtx: (knobs & 1 != 0).then(|| Rtx::new(0x5678, 65_530, 96, 97)),
        budget_bytes_per_second: 20_000,
        budget_burst_bytes: u32::from(knobs) * 64,
        min_resend_interval: Duration::from_millis(u64::from(knobs >> 4)),
    };
    let mut history: SendHistory<&mut [u8], 16> =
        SendHistory::new(config, &mut area[..], PACKETS);
    let mut twcc_slots = [TwccSlot::EMPTY; 64];
    let mut twcc = TwccSendRecord::new(&mut twcc_slots, u16::from(knobs) << 8);
    let mut stats = SenderStats::new(90_000, NtpTime::from_unix(Duration::from_secs(1 << 31)));
    // 200 packets of varied sizes, sequence numbers across the wrap: some recorded as sent,
    // some through the send queue (drained every few packets, as a pacer would).
    let mut packet = [0u8; 300];
    let mut sent = [0u8; 300];
    for k in 0..200u16 {
        let seq = 65_440u16.wrapping_add(k);
        let len = 12 + usize::from(k * 7 % 280);
        packet[..12].copy_from_slice(&[0x80, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34]);
        packet[2..4].copy_from_slice(&seq.to_be_bytes());
        packet[12..len].fill(k as u8);
        let now = Instant::from_millis(u64::from(k) * 5);
        if k % 3 == 0 {
            history.record(now, &packet[..len]).expect("a well-formed packet is recorded");
        } else {
            history.enqueue(now, &packet[..len]).expect("the queue is drained in time");
        }
        if k % 4 == 3 || k == 199 {
            while let Some(n) = history.poll_unsent(now, &mut sent).expect("300 bytes fit") {
                assert_eq!(history.get(u16::from_be_bytes([sent[2], sent[3]])), Some(&sent[..n]));
            }
        }
        twcc.on_sent(now, len);
        stats.on_sent(now, u32::from(k) * 3000, len - 12);
    }
    let Ok(compound) = Compound::parse(rtcp) else { return };
    let mut now = Instant::from_secs(2);
    let mut asked = 0u64;
    let mut buf = [0u8; 400];
    for packet in compound.packets() {
        now += Duration::from_millis(7);
        match packet.kind() {
            Ok(Kind::Nack(nack)) => {
                asked += nack.lost().count() as u64;
                history.handle_nack(now, nack.lost());
                while let Ok(Some(r)) = history.poll_transmit(&mut buf) {
                    let original = history.get(r.original_sequence).expect("sent from the ring");
                    let body = if r.rtx { &r.packet[14..] } else { r.packet };
                    assert_eq!(body, if r.rtx { &original[12..] } else { original });
                }
            }
            Ok(Kind::TransportCc(fb)) => {
                let _ = twcc.feedback(&fb).count();
            }
            Ok(Kind::ReceiverReport(rr)) => {
                for block in rr.reports() {
                    let _ = stats.round_trip_time(now, &block);
                }
            }
            Ok(Kind::SenderReport(sr)) => {
                for block in sr.reports() {
                    let _ = stats.round_trip_time(now, &block);
                }
            }
            _ => {}
        }
    }
    let s = history.stats();
    let counted = s.retransmitted_packets
        + s.dropped_nack_overwritten
        + s.dropped_nack_unsent
        + s.dropped_nack_too_soon
        + s.dropped_nack_rate_limited
        + s.dropped_nack_queue_full
        + s.dropped_nack_no_rtx_payload_type;
    assert_eq!(counted, asked);
});
