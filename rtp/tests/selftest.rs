//! The firmware's media self-test, run on the host: every answer it checks on the target
//! (known sequence numbers, the one loss, RTX, the RTT from the SR/RR exchange) holds here too.

use core::time::Duration;

use peerless_rtp::selftest::{self, AUDIO_PACKETS, VIDEO_FRAME_LEN};

#[test]
fn media_path_passes_with_its_known_answers() {
    let report = selftest::run(|| 0).expect("self-test");
    assert_eq!(report.video_packets, 5, "5000 B at MTU 1200");
    assert_eq!(report.video_frame_bytes, VIDEO_FRAME_LEN);
    assert_eq!(report.retransmitted, 1);
    // RR (8 + one 24-byte block) and a NACK with one pair (12 + 4).
    assert_eq!(report.rtcp_bytes, 32 + 16);
    // 5 ms each way, the DLSR rounded to 1/65536 s.
    assert!(report.rtt.abs_diff(Duration::from_millis(10)) < Duration::from_micros(100));
    assert_eq!(report.audio_frames, AUDIO_PACKETS - 1);
    assert_eq!(report.audio_gaps, 1);
}

#[test]
fn every_step_reads_the_counter() {
    // A counter that ticks on each read: every step's total is the ticks between its two reads.
    let ticks = core::cell::Cell::new(0u64);
    let report = selftest::run(|| {
        ticks.set(ticks.get() + 1);
        ticks.get()
    })
    .expect("self-test");
    let spent = report.instructions;
    for (step, n) in [
        ("packetize", spent.packetize),
        ("jitter", spent.jitter),
        ("nack_rtx", spent.nack_rtx),
        ("audio", spent.audio),
    ] {
        assert!(n >= 1, "{step} was not measured: {n}");
    }
    // Four video arrivals and the RTX insert are measured separately for the jitter buffer.
    assert_eq!(spent.jitter, 5);
}
