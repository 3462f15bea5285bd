//! telephone-event (RFC 4733): GStreamer's `rtpdtmfsrc` (digits 1, # and D, the start and the
//! end each sent three times) is read as three events, each reported once with its digit,
//! volume and final duration; our sender, given the same durations, sends the same payloads
//! and markers; loss of the end packets and late packets never report an event twice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod codec_support;

use codec_support::*;
use peerless_rtp::codec::CodecError;
use peerless_rtp::codec::telephone_event::{
    END_REPEATS, ReceivedEvent, SendEventError, TelephoneEvent, TelephoneEventReceiver,
    TelephoneEventSender, dtmf_code, dtmf_key,
};
use proptest::prelude::*;

#[test]
fn gstreamer_rtpdtmfsrc_gives_each_digit_once() {
    let stream = read("dtmf_gst.rtp");
    let packets = rfc4571_packets(&stream);
    let mut rx = TelephoneEventReceiver::new();
    let mut reported = Vec::new();
    for p in &packets {
        let r = rtp(p);
        rx.receive(r.timestamp, r.payload).unwrap();
        while let Some(e) = rx.poll() {
            reported.push(e);
        }
    }
    let digits: String = reported.iter().map(|e| dtmf_key(e.code).unwrap()).collect();
    assert_eq!(digits, "1#D");
    let volumes: Vec<u8> = reported.iter().map(|e| e.volume).collect();
    assert_eq!(volumes, [10, 20, 36]);
    assert!(reported.iter().all(|e| e.ended));
    // Each final duration is the one in that event's end packets.
    for e in &reported {
        let end = packets
            .iter()
            .map(|p| rtp(p))
            .filter(|r| r.timestamp == e.timestamp)
            .map(|r| TelephoneEvent::parse(r.payload).unwrap())
            .filter(|t| t.end)
            .collect::<Vec<_>>();
        assert_eq!(end.len(), usize::from(END_REPEATS));
        assert!(end.iter().all(|t| t.duration == e.duration));
    }
}

#[test]
fn our_sender_matches_rtpdtmfsrc_given_the_same_durations() {
    let stream = read("dtmf_gst.rtp");
    let packets: Vec<_> = rfc4571_packets(&stream).into_iter().map(rtp).collect();
    let mut tx = TelephoneEventSender::new();
    let mut events = 0;
    let mut out = [0u8; 4];
    let mut i = 0;
    while i < packets.len() {
        let first = TelephoneEvent::parse(packets[i].payload).unwrap();
        tx.start(first.code, first.volume).unwrap();
        events += 1;
        let ts = packets[i].timestamp;
        while i < packets.len() && packets[i].timestamp == ts {
            let theirs = TelephoneEvent::parse(packets[i].payload).unwrap();
            if theirs.end && !tx.is_idle() {
                tx.end(u32::from(theirs.duration));
            }
            let payload = tx
                .next_payload(u32::from(theirs.duration), &mut out)
                .unwrap()
                .unwrap();
            assert_eq!(&out[..payload.len], packets[i].payload, "packet {i}");
            assert_eq!(payload.marker, packets[i].marker, "packet {i}");
            i += 1;
        }
        assert!(tx.is_idle(), "three end packets, then idle");
        assert!(tx.next_payload(0, &mut out).is_none());
    }
    assert_eq!(events, 3);
}

#[test]
fn dtmf_keys_map_to_rfc4733_codes() {
    let keys = "0123456789*#ABCD";
    for (code, key) in keys.chars().enumerate() {
        assert_eq!(dtmf_code(key), Some(code as u8));
        assert_eq!(dtmf_key(code as u8), Some(key));
    }
    assert_eq!(dtmf_code('d'), Some(15));
    assert_eq!(dtmf_code('E'), None);
    assert_eq!(dtmf_key(16), None);
}

fn payload(code: u8, end: bool, duration: u16) -> [u8; 4] {
    let mut b = [0u8; 4];
    TelephoneEvent {
        code,
        end,
        volume: 10,
        duration,
    }
    .emit(&mut b)
    .unwrap();
    b
}

#[test]
fn lost_end_packets_close_the_event_when_the_next_starts_or_on_flush() {
    let mut rx = TelephoneEventReceiver::new();
    rx.receive(1000, &payload(5, false, 160)).unwrap();
    assert_eq!(rx.current().map(|e| e.code), Some(5));
    rx.receive(1000, &payload(5, false, 320)).unwrap();
    assert_eq!(rx.poll(), None);
    // The next event's end arrives before anything else of it: both are reported.
    rx.receive(9000, &payload(7, true, 800)).unwrap();
    let unfinished = rx.poll().unwrap();
    assert_eq!(
        (unfinished.code, unfinished.duration, unfinished.ended),
        (5, 320, false)
    );
    assert_eq!(rx.poll().map(|e| (e.code, e.ended)), Some((7, true)));
    // Its repeats, and a late packet of the first event, report nothing.
    rx.receive(9000, &payload(7, true, 800)).unwrap();
    rx.receive(1000, &payload(5, true, 480)).unwrap();
    assert_eq!(rx.poll(), None);
    // An event whose end never comes is closed by flush, once.
    rx.receive(20000, &payload(1, false, 160)).unwrap();
    rx.flush().unwrap();
    rx.flush().unwrap();
    assert_eq!(rx.poll().map(|e| (e.code, e.ended)), Some((1, false)));
    assert_eq!(rx.poll(), None);
    rx.receive(20000, &payload(1, true, 400)).unwrap();
    assert_eq!(rx.poll(), None);
}

#[test]
fn reports_not_polled_are_never_overwritten() {
    let mut rx = TelephoneEventReceiver::new();
    rx.receive(0, &payload(1, true, 1)).unwrap();
    rx.receive(100, &payload(2, true, 1)).unwrap();
    assert_eq!(
        rx.receive(200, &payload(3, true, 1)),
        Err(CodecError::BufferTooSmall { needed: 3 })
    );
    assert_eq!(rx.poll().map(|e| e.code), Some(1));
    rx.receive(200, &payload(3, true, 1)).unwrap();
    let codes: Vec<_> = std::iter::from_fn(|| rx.poll()).map(|e| e.code).collect();
    assert_eq!(codes, [2, 3]);
}

#[test]
fn the_sender_refuses_a_second_event_and_loud_volumes() {
    let mut tx = TelephoneEventSender::new();
    assert_eq!(tx.start(1, 64), Err(SendEventError::Volume));
    tx.start(1, 63).unwrap();
    assert_eq!(tx.start(2, 10), Err(SendEventError::Busy));
    let mut small = [0u8; 3];
    assert_eq!(
        tx.next_payload(100, &mut small),
        Some(Err(CodecError::BufferTooSmall { needed: 4 }))
    );
    let mut out = [0u8; 4];
    // The failed call did not use up the marker.
    assert!(tx.next_payload(100, &mut out).unwrap().unwrap().marker);
    tx.end(70_000); // saturates at 65535 ticks
    for _ in 0..END_REPEATS {
        tx.next_payload(0, &mut out).unwrap().unwrap();
        assert_eq!(out, [1, 0x80 | 63, 0xff, 0xff]);
    }
    assert!(tx.is_idle());
}

proptest! {
    #[test]
    fn every_event_sent_is_reported_once_whatever_is_lost(
        events in proptest::collection::vec((0u8..16, 0u8..64, 1usize..20), 1..6),
        lost in proptest::collection::vec(any::<bool>(), 200),
    ) {
        let mut tx = TelephoneEventSender::new();
        let mut rx = TelephoneEventReceiver::new();
        let mut out = [0u8; 4];
        let mut reported: Vec<ReceivedEvent> = Vec::new();
        let mut n = 0;
        let mut ts = 0u32;
        for &(code, volume, updates) in &events {
            tx.start(code, volume).unwrap();
            let mut duration = 0;
            let mut sent = 0;
            while let Some(p) = tx.next_payload(duration, &mut out) {
                let p = p.unwrap();
                sent += 1;
                if sent == updates {
                    tx.end(duration + 160);
                }
                duration += 160;
                // Never lose everything of an event: its first packet always arrives.
                if sent == 1 || !lost[n % lost.len()] {
                    rx.receive(ts, &out[..p.len]).unwrap();
                }
                n += 1;
                while let Some(e) = rx.poll() {
                    reported.push(e);
                }
            }
            ts = ts.wrapping_add(duration + 8000);
        }
        rx.flush().unwrap();
        reported.extend(std::iter::from_fn(|| rx.poll()));
        let codes: Vec<_> = reported.iter().map(|e| (e.code, e.volume)).collect();
        let sent: Vec<_> = events.iter().map(|&(c, v, _)| (c, v)).collect();
        prop_assert_eq!(codes, sent);
    }

    #[test]
    fn arbitrary_payloads_never_panic(packets in proptest::collection::vec(
        (any::<u32>(), proptest::collection::vec(any::<u8>(), 0..12)), 0..12)) {
        let mut rx = TelephoneEventReceiver::new();
        for (ts, p) in &packets {
            let _ = rx.receive(*ts, p);
            let _ = rx.poll();
        }
        let _ = rx.flush();
    }
}
