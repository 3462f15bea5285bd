//! Media between two Peers: tracks negotiated in one BUNDLE with a data channel, frames
//! packetized, protected, routed and depacketized, loss repaired by NACK and RTX, keyframe
//! requests, renegotiation that adds and stops media.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Ev, Pair, certs, peer};
use peerless::{AreaUse, Codec, Direction, Event, KeyframeKind, MediaKind, SdpType};

/// A VP8 frame the depacketizer takes for what it says: a keyframe starts with a frame tag
/// whose bit 0 is clear and the start code 9d 01 2a (RFC 6386 §9.1), then a 320x240 size.
fn vp8_frame(n: u32, keyframe: bool, len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(len);
    if keyframe {
        f.extend_from_slice(&[0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);
    } else {
        f.extend_from_slice(&[0x51, 0x42, 0x00]);
    }
    let mut x = n.wrapping_mul(2_654_435_761);
    while f.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        f.push(x as u8);
    }
    f
}

fn lend(p: &mut peerless::Peer, kind: MediaKind, use_: AreaUse, bytes: usize) {
    let area: &'static mut [u8] = Box::leak(vec![0u8; bytes].into_boxed_slice());
    p.lend_media_area(kind, use_, area).unwrap();
}

/// Both Peers lend audio and video areas both ways.
fn lend_all(p: &mut peerless::Peer) {
    for use_ in [AreaUse::Send, AreaUse::Receive] {
        lend(p, MediaKind::Audio, use_, 64 * 1024);
        lend(p, MediaKind::Video, use_, 1024 * 1024);
    }
}

/// A sends audio and video to B, which sends audio back; a channel rides beside them.
fn connected_av() -> Pair {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    lend_all(&mut pair.a);
    lend_all(&mut pair.b);
    pair.a
        .create_data_channel("chat", Default::default())
        .unwrap();
    pair.a.add_track(MediaKind::Audio, "stream-a").unwrap();
    pair.a.add_track(MediaKind::Video, "stream-a").unwrap();
    pair.signal();
    assert!(pair.run_until(Duration::from_secs(10), |p| p.opened(false)
        && p.opened(true)));
    pair
}

fn media(events: &[Ev], mid: &str) -> Vec<(u32, bool, bool, Vec<u8>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Ev::Media {
                mid: m,
                rtp_time,
                keyframe,
                contiguous,
                data,
                ..
            } if m == mid => Some((*rtp_time, *keyframe, *contiguous, data.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn offer_and_answer_carry_audio_video_and_data_in_one_bundle() {
    let pair = connected_av();
    let offer = pair.a.current_local_description().unwrap();
    let answer = pair.b.current_local_description().unwrap();
    assert!(offer.contains("a=group:BUNDLE 0 1 2"), "{offer}");
    assert!(
        offer.contains(" UDP/TLS/RTP/SAVPF 111 0 8 110 126\r\n"),
        "{offer}"
    );
    assert!(offer.contains("a=rtpmap:96 VP8/90000"), "{offer}");
    assert!(offer.contains("a=msid:stream-a"), "{offer}");
    // Transport-wide feedback for the bandwidth estimator, on Opus and every video codec,
    // with its sequence number extension in both kinds of section, and agreed in the answer.
    let twcc_uri =
        "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n";
    for sdp in [offer, answer] {
        assert!(sdp.contains("a=rtcp-fb:111 transport-cc\r\n"), "{sdp}");
        assert!(sdp.contains("a=rtcp-fb:96 transport-cc\r\n"), "{sdp}");
        assert_eq!(sdp.matches(twcc_uri).count(), 2, "{sdp}");
    }
    // REMB (a cap on our estimate) for video, and abs-send-time in both kinds, so that peers
    // estimating on their side can send it; nothing else we do not implement.
    let abs_uri = "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n";
    assert_eq!(offer.matches(abs_uri).count(), 2, "{offer}");
    assert!(offer.contains("a=rtcp-fb:96 goog-remb\r\n"), "{offer}");
    assert!(!offer.contains("a=rtcp-fb:111 goog-remb"), "{offer}");
    assert!(!offer.contains("ssrc-audio-level"), "{offer}");
    // B had no track: it answers recvonly on both, with A's payload types.
    assert!(answer.contains("a=recvonly"), "{answer}");
    assert!(!answer.contains("a=sendrecv"), "{answer}");
    let (a_video, b_video) = (
        pair.a.transceiver("2").unwrap(),
        pair.b.transceiver("2").unwrap(),
    );
    assert_eq!(pair.a.current_direction(a_video), Some(Direction::SendOnly));
    assert_eq!(pair.b.current_direction(b_video), Some(Direction::RecvOnly));
    assert_eq!(pair.a.payload_type("2", Codec::Vp8), Some(96));
    assert_eq!(pair.b.payload_type("1", Codec::Opus), Some(111));
    // ontrack on B, for both, with A's stream id.
    let tracks: Vec<_> = pair
        .events_b
        .iter()
        .filter_map(|e| match e {
            Ev::Track {
                mid,
                kind,
                stream_id,
            } => Some((mid.clone(), *kind, stream_id.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        tracks,
        [
            ("1".into(), MediaKind::Audio, Some("stream-a".into())),
            ("2".into(), MediaKind::Video, Some("stream-a".into()))
        ]
    );
    assert!(!pair.events_a.iter().any(|e| matches!(e, Ev::Track { .. })));
}

#[test]
fn frames_arrive_whole_and_in_order_beside_the_channel() {
    let mut pair = connected_av();
    let mut sent_video = Vec::new();
    let mut sent_audio = Vec::new();
    for n in 0..30u32 {
        // 30 fps video, every frame several packets; 20 ms Opus frames.
        let frame = vp8_frame(n, n % 10 == 0, 2500 + 97 * n as usize);
        pair.a.write_frame("2", 96, 3000 * n, &frame).unwrap();
        sent_video.push(frame);
        for k in 0..2 {
            let opus = vec![0x78, n as u8, k as u8, 0xaa];
            pair.a
                .write_frame("1", 111, 960 * (2 * n + k), &opus)
                .unwrap();
            sent_audio.push(opus);
        }
        pair.run_until(Duration::from_millis(33), |_| false);
    }
    pair.run_until(Duration::from_millis(200), |_| false);
    let video = media(&pair.events_b, "2");
    let audio = media(&pair.events_b, "1");
    assert_eq!(video.len(), sent_video.len());
    for (n, (rtp_time, keyframe, contiguous, data)) in video.iter().enumerate() {
        assert_eq!(*rtp_time, 3000 * n as u32);
        assert_eq!(*keyframe, n % 10 == 0, "frame {n}");
        assert!(*contiguous);
        assert_eq!(data, &sent_video[n], "frame {n}");
    }
    assert_eq!(
        audio.iter().map(|a| a.3.clone()).collect::<Vec<_>>(),
        sent_audio
    );
    let a_video = pair.a.transceiver("2").unwrap();
    let b_video = pair.b.transceiver("2").unwrap();
    let sent = pair.a.media_stats(a_video).unwrap();
    let received = pair.b.media_stats(b_video).unwrap();
    assert_eq!(sent.frames_sent, 30);
    assert_eq!(received.frames_received, 30);
    // Every original arrived, and beside them only RTX: the opening probe's padding (recent
    // packets again), no retransmission (nothing was lost).
    assert_eq!(sent.retransmissions_sent, 0);
    assert!(sent.padding_packets_sent > 0, "{sent:?}");
    assert_eq!(received.rtx_received, 0);
    assert_eq!(received.duplicates_received, sent.padding_packets_sent);
    assert_eq!(received.packets_received, sent.packets_sent);
    assert_eq!(received.packets_lost, 0);
    // The opening keyframe spans packets: nobody asked for another.
    assert_eq!(received.plis_sent, 0);
    assert_eq!(sent.plis_received, 0);
    // Reports flowed: A learned the round trip from B's receiver reports.
    pair.run_until(Duration::from_secs(6), |_| false);
    assert!(
        pair.a
            .media_stats(a_video)
            .unwrap()
            .round_trip_time_us
            .is_some()
    );
    assert_eq!(pair.a.stats().dropped_media_unrouted, 0);
    assert_eq!(pair.b.stats().dropped_media_unrouted, 0);
}

#[test]
fn lost_packets_come_back_by_nack_and_rtx() {
    let mut pair = connected_av();
    // Every 7th datagram from A after this point is lost (SRTP: first byte 0x80..0xbf).
    static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    pair.drop_from_a = |d| {
        (0x80..0xc0).contains(&d[0])
            && d[1] & 0x7f == 96
            && COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 7 == 3
    };
    let mut sent = Vec::new();
    for n in 0..40u32 {
        let frame = vp8_frame(n, n == 0, 4000);
        pair.a.write_frame("2", 96, 3000 * n, &frame).unwrap();
        sent.push(frame);
        pair.run_until(Duration::from_millis(33), |_| false);
    }
    pair.run_until(Duration::from_secs(1), |_| false);
    let video = media(&pair.events_b, "2");
    assert_eq!(video.len(), 40, "every frame, repaired");
    assert!(video.iter().zip(&sent).all(|(v, s)| &v.3 == s));
    let a = pair
        .a
        .media_stats(pair.a.transceiver("2").unwrap())
        .unwrap();
    let b = pair
        .b
        .media_stats(pair.b.transceiver("2").unwrap())
        .unwrap();
    assert!(a.nacks_received > 0 && a.retransmissions_sent > 0, "{a:?}");
    assert!(b.nacks_sent > 0 && b.rtx_received > 0, "{b:?}");
}

#[test]
fn a_keyframe_request_reaches_the_sender() {
    let mut pair = connected_av();
    pair.a
        .write_frame("2", 96, 0, &vp8_frame(0, true, 3000))
        .unwrap();
    pair.run_until(Duration::from_millis(100), |_| false);
    pair.b.request_keyframe("2", None).unwrap();
    pair.run_until(Duration::from_millis(100), |_| false);
    assert!(
        pair.events_a
            .iter()
            .any(|e| *e == Ev::Keyframe("2".into(), KeyframeKind::Pli)),
        "{:?}",
        pair.events_a
    );
    let a = pair
        .a
        .media_stats(pair.a.transceiver("2").unwrap())
        .unwrap();
    assert_eq!(a.plis_received, 1);
}

#[test]
fn write_frame_says_why_it_cannot_send() {
    let (ca, _) = certs();
    let mut p = peer(ca, 1);
    let t = p.add_track(MediaKind::Video, "s").unwrap();
    assert_eq!(p.mid(t), None);
    assert_eq!(
        p.write_frame("0", 96, 0, b"x"),
        Err(peerless::MediaError::UnknownTransceiver)
    );
    let mut pair = connected_av();
    assert_eq!(
        pair.a.write_frame("2", 111, 0, b"x"),
        Err(peerless::MediaError::UnknownPayloadType)
    );
    // B only receives.
    assert_eq!(
        pair.b.write_frame("2", 96, 0, b"x"),
        Err(peerless::MediaError::NotSending)
    );
    // Backpressure: a send area full of unsent packets refuses the next frame whole.
    let big = vp8_frame(1, true, 60_000);
    let mut refused = false;
    for n in 0..100 {
        match pair.a.write_frame("2", 96, n * 3000, &big) {
            Ok(()) => {}
            Err(peerless::MediaError::Full) => {
                refused = true;
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(refused);
}

#[test]
fn media_without_an_area_is_refused_not_thrown_away() {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    lend_all(&mut pair.a);
    pair.a
        .create_data_channel("chat", Default::default())
        .unwrap();
    pair.a.add_track(MediaKind::Video, "s").unwrap();
    pair.signal();
    // B lent nothing: its answer rejects the video section.
    let answer = pair.b.current_local_description().unwrap().to_string();
    assert!(answer.contains("m=video 0 "), "{answer}");
    assert!(pair.run_until(Duration::from_secs(10), |p| p.opened(false)
        && p.opened(true)));
    // Rejected: A's transceiver is stopped and gone (W3C), its slot free.
    assert_eq!(pair.a.transceivers().count(), 0);
}

#[test]
fn renegotiation_adds_and_stops_media() {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    lend_all(&mut pair.a);
    lend_all(&mut pair.b);
    let chat = pair
        .a
        .create_data_channel("chat", Default::default())
        .unwrap();
    pair.signal();
    assert!(pair.run_until(Duration::from_secs(10), |p| p.opened(false)
        && p.opened(true)));
    // Video joins: negotiation needed, a new offer from B this time.
    pair.events_b.clear();
    let t = pair.b.add_track(MediaKind::Video, "late").unwrap();
    assert!(
        pair.b
            .poll_event()
            .is_some_and(|e| e == Event::NegotiationNeeded)
    );
    pair.exchange(false);
    let mid = pair.b.mid(t).unwrap().to_string();
    assert_eq!(mid, "1");
    for n in 0..5u32 {
        pair.b
            .write_frame(&mid, 96, n * 3000, &vp8_frame(n, n == 0, 1800))
            .unwrap();
        pair.run_until(Duration::from_millis(33), |_| false);
    }
    pair.run_until(Duration::from_millis(100), |_| false);
    assert_eq!(media(&pair.events_a, &mid).len(), 5);
    // B stops it: the next exchange rejects the section and the slot is free again.
    pair.b.stop_transceiver(t).unwrap();
    assert_eq!(
        pair.b.write_frame(&mid, 96, 0, b"x"),
        Err(peerless::MediaError::Stopped)
    );
    let (offer, _) = pair.exchange(false);
    assert!(offer.contains("m=video 0 "), "{offer}");
    assert_eq!(pair.b.transceivers().count(), 0);
    assert_eq!(pair.a.transceivers().count(), 0);
    // The channel still works.
    pair.a
        .send(chat, peerless::MessageKind::Text, b"still here")
        .unwrap();
    pair.run_until(Duration::from_millis(100), |_| false);
    assert!(
        pair.events_b
            .iter()
            .any(|e| matches!(e, Ev::Message { data, .. } if data == b"still here"))
    );
}

#[test]
fn dtmf_tones_go_out_as_rfc_4733_events_and_come_back_as_events() {
    let mut pair = connected_av();
    // A's audio must have sent something for the events to take its clock.
    pair.a.write_frame("1", 111, 0, &[0x78, 1, 2]).unwrap();
    pair.a
        .insert_dtmf(
            "1",
            "1#,9",
            Duration::from_millis(100),
            Duration::from_millis(70),
        )
        .unwrap();
    assert_eq!(pair.a.tone_buffer("1"), Some("1#,9"));
    assert_eq!(
        pair.a.insert_dtmf(
            "1",
            "1x",
            Duration::from_millis(100),
            Duration::from_millis(70)
        ),
        Err(peerless::MediaError::Unsupported)
    );
    pair.run_until(Duration::from_secs(4), |_| false);
    let tones: Vec<_> = pair
        .events_a
        .iter()
        .filter_map(|e| match e {
            Ev::Tone(t) => Some(*t),
            _ => None,
        })
        .collect();
    assert_eq!(tones, [Some('1'), Some('#'), Some('9'), None]);
    let received: Vec<_> = pair
        .events_b
        .iter()
        .filter_map(|e| match e {
            Ev::Dtmf(t, d) => Some((*t, *d)),
            _ => None,
        })
        .collect();
    assert_eq!(received.len(), 3, "{received:?}");
    for ((tone, duration), want) in received.iter().zip(['1', '#', '9']) {
        assert_eq!(*tone, Some(want));
        // 100 ms (in 48 kHz ticks: Opus's clock), to the 50 ms update grid.
        assert!(
            (Duration::from_millis(95)..=Duration::from_millis(155)).contains(duration),
            "{duration:?}"
        );
    }
    assert_eq!(pair.a.tone_buffer("1"), Some(""));
    // The events took sequence numbers of the audio stream: audio after them finds no hole
    // and none counts as lost.
    for n in 1..=5u32 {
        pair.a
            .write_frame("1", 111, 4 * 48_000 + 960 * n, &[0x78, n as u8])
            .unwrap();
        pair.run_until(Duration::from_millis(20), |_| false);
    }
    pair.run_until(Duration::from_millis(200), |_| false);
    let b_audio = pair
        .b
        .media_stats(pair.b.transceiver("1").unwrap())
        .unwrap();
    assert_eq!(b_audio.packets_lost, 0, "{b_audio:?}");
    assert_eq!(b_audio.frames_received, 6, "{b_audio:?}");
    let audio = media(&pair.events_b, "1");
    assert!(audio.iter().all(|f| f.2), "every audio frame contiguous");
}

#[test]
fn a_media_server_forwards_raw_packets_and_the_far_end_gets_the_frames() {
    // A -> (B, raw) ... B's host forwards with write_rtp ... (B2) -> C.
    let (ca, cb) = certs();
    let mut upstream = Pair::new(peer(ca.clone(), 1), {
        let (s, r) = common::areas();
        let mut config = peerless::Config::new(cb.clone(), [2; 32]);
        config.raw_receive = true;
        peerless::Peer::new(config, peerless_base::Instant::ZERO, s, r)
    });
    lend_all(&mut upstream.a);
    // The media server lends small areas: raw packets only wait there until drained.
    lend(
        &mut upstream.b,
        MediaKind::Video,
        AreaUse::Receive,
        32 * 1024,
    );
    upstream
        .a
        .create_data_channel("chat", Default::default())
        .unwrap();
    upstream.a.add_track(MediaKind::Video, "cam").unwrap();
    upstream.signal();
    assert!(
        upstream.run_until(Duration::from_secs(10), |p| p.opened(false)
            && p.opened(true))
    );
    let mut downstream = Pair::new(peer(cb, 3), peer(ca, 4));
    lend_all(&mut downstream.a);
    lend_all(&mut downstream.b);
    downstream
        .a
        .create_data_channel("chat", Default::default())
        .unwrap();
    downstream
        .a
        .add_track(MediaKind::Video, "forwarded")
        .unwrap();
    downstream.signal();
    assert!(
        downstream.run_until(Duration::from_secs(10), |p| p.opened(false)
            && p.opened(true))
    );

    let mut sent = Vec::new();
    for n in 0..20u32 {
        let frame = vp8_frame(n, n % 10 == 0, 3000);
        upstream.a.write_frame("1", 96, 3000 * n, &frame).unwrap();
        sent.push(frame);
        upstream.run_until(Duration::from_millis(33), |_| false);
        for e in upstream.events_b.drain(..) {
            if let Ev::Rtp(mid, packet) = e {
                assert_eq!(mid, "1");
                downstream.a.write_rtp("1", &packet).unwrap();
            }
        }
        // The forwarder's clock runs with the source's: its pacer lets a frame's packets out
        // over the frame time, as on a real server.
        downstream.run_until(Duration::from_millis(33), |_| false);
    }
    downstream.run_until(Duration::from_millis(200), |_| false);
    let got = media(&downstream.events_b, "1");
    assert_eq!(got.len(), 20);
    assert!(got.iter().zip(&sent).all(|(g, s)| &g.3 == s));
    let b = upstream
        .b
        .media_stats(upstream.b.transceiver("1").unwrap())
        .unwrap();
    assert!(b.packets_received >= 60 && b.frames_received == 0, "{b:?}");
    assert_eq!(upstream.b.stats().dropped_media_undrained, 0);
}

/// The sizes the crate docs advise, proven: an audio-only device Peer (one transceiver, 8 KiB
/// to send and 24 KiB to receive) and a 720p host Peer (512 KiB to send, 1 MiB to receive
/// video) carry their media whole.
#[test]
fn the_documented_media_areas_carry_audio_on_a_device_and_720p_on_a_host() {
    type DevicePeer = peerless::Peer<&'static mut [u8], 64, 4, 2048, 4096, 8192, 8, 1>;
    let (ca, cb) = certs();
    let device_size = std::mem::size_of::<DevicePeer>();
    let host_size = std::mem::size_of::<peerless::Peer>();
    println!("size_of: audio device Peer {device_size} B, default (host) Peer {host_size} B");
    // 60 KiB as the firmware builds it; the host features (TURN's and mDNS's tables, room
    // for an RSA modulus) add about 7 KiB.
    let host_features = cfg!(feature = "turn") || cfg!(feature = "mdns") || cfg!(feature = "rsa");
    let budget = if host_features { 67 } else { 60 } * 1024;
    assert!(device_size < budget, "{device_size}");

    // The device: Opus both ways with the default Peer.
    let (s, r) = common::areas();
    let mut device: DevicePeer = peerless::Peer::new(
        peerless::Config::new(ca, [5; 32]),
        peerless_base::Instant::ZERO,
        s,
        r,
    );
    let lend_to = |p: &mut DevicePeer, use_, bytes| {
        let area: &'static mut [u8] = Box::leak(vec![0u8; bytes].into_boxed_slice());
        p.lend_media_area(MediaKind::Audio, use_, area).unwrap();
    };
    lend_to(&mut device, AreaUse::Send, 8 * 1024);
    lend_to(&mut device, AreaUse::Receive, 24 * 1024);
    let mut host = peer(cb, 6);
    lend_all(&mut host);
    device.add_track(MediaKind::Audio, "mic").unwrap();
    host.add_track(MediaKind::Audio, "speaker").unwrap();
    // The Pair harness is for the default Peer: drive these two by hand.
    let a = common::addr(common::A);
    let b = common::addr(common::B);
    device.add_local_candidate(a).unwrap();
    host.add_local_candidate(b).unwrap();
    let mut buf = vec![0u8; 16384];
    let offer = device.create_offer(&mut buf).unwrap().to_string();
    device
        .set_local_description(SdpType::Offer, &offer)
        .unwrap();
    host.set_remote_description(SdpType::Offer, &offer).unwrap();
    let answer = host.create_answer(&mut buf).unwrap().to_string();
    host.set_local_description(SdpType::Answer, &answer)
        .unwrap();
    device
        .set_remote_description(SdpType::Answer, &answer)
        .unwrap();
    let mut now = peerless_base::Instant::ZERO;
    let (mut to_host, mut to_device) = (0usize, 0usize);
    let mut step = |device: &mut DevicePeer, host: &mut peerless::Peer, now| {
        let mut moved = true;
        while moved {
            moved = false;
            while let Some(t) = device.poll_transmit(&mut buf).unwrap() {
                let n = t.payload.len();
                host.handle_packet(now, a, b, &mut buf[..n]);
                moved = true;
            }
            while let Some(t) = host.poll_transmit(&mut buf).unwrap() {
                let n = t.payload.len();
                device.handle_packet(now, b, a, &mut buf[..n]);
                moved = true;
            }
            while let Some(e) = device.poll_event() {
                to_device += usize::from(matches!(e, Event::MediaData(_)));
            }
            while let Some(e) = host.poll_event() {
                to_host += usize::from(matches!(e, Event::MediaData(_)));
            }
        }
        device.handle_timeout(now);
        host.handle_timeout(now);
    };
    for _ in 0..300 {
        now += Duration::from_millis(10);
        step(&mut device, &mut host, now);
    }
    assert_eq!(
        device.connection_state(),
        peerless::ConnectionState::Connected
    );
    let (dm, hm) = ("0", "0");
    for n in 0..100u32 {
        let opus = [0x78, (n >> 8) as u8, n as u8, 0x55, 0xaa, 0x11, 0x22, 0x33];
        device.write_frame(dm, 111, 960 * n, &opus).unwrap();
        host.write_frame(hm, 111, 960 * n, &opus).unwrap();
        now += Duration::from_millis(20);
        step(&mut device, &mut host, now);
    }
    for _ in 0..20 {
        now += Duration::from_millis(20);
        step(&mut device, &mut host, now);
    }
    assert_eq!((to_host, to_device), (100, 100));

    // The host: 720p-sized VP8 at 30 fps, 2.5 Mbit/s (a 100 KB keyframe a second).
    let mut pair = connected_av();
    let mut sent = 0;
    for n in 0..90u32 {
        let size = if n % 30 == 0 { 100_000 } else { 7_000 };
        pair.a
            .write_frame("2", 96, 3000 * n, &vp8_frame(n, n % 30 == 0, size))
            .unwrap();
        sent += 1;
        pair.run_until(Duration::from_millis(33), |_| false);
    }
    pair.run_until(Duration::from_millis(300), |_| false);
    assert_eq!(media(&pair.events_b, "2").len(), sent);
}

/// A's offer as a browser sending simulcast writes it (RFC 8853): three rids in the video
/// section. A's own Peer does not send simulcast, so its host writes the layers by hand
/// (RTP with the mid and rid extensions, protected with A's SRTP context), as a browser would.
#[test]
fn three_simulcast_layers_arrive_as_three_streams_by_rid() {
    use peerless_rtp::extension::{ExtensionMap, ExtensionWriter, Mid, Rid, uri};
    use peerless_rtp::packet::Header;
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    lend_all(&mut pair.a);
    lend_all(&mut pair.b);
    for _ in 0..2 {
        // Two more receive areas: one per layer.
        lend(&mut pair.b, MediaKind::Video, AreaUse::Receive, 512 * 1024);
    }
    pair.a
        .create_data_channel("chat", Default::default())
        .unwrap();
    pair.a.add_track(MediaKind::Video, "cam").unwrap();
    pair.a.add_local_candidate(common::addr(common::A)).unwrap();
    pair.b.add_local_candidate(common::addr(common::B)).unwrap();
    let mut buf = vec![0u8; 16384];
    let offer = pair.a.create_offer(&mut buf).unwrap().to_string();
    pair.a
        .set_local_description(SdpType::Offer, &offer)
        .unwrap();
    let simulcast = offer.replace(
        "a=msid:cam",
        "a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\na=msid:cam",
    );
    assert_ne!(simulcast, offer);
    pair.b
        .set_remote_description(SdpType::Offer, &simulcast)
        .unwrap();
    let answer = pair.b.create_answer(&mut buf).unwrap().to_string();
    assert!(answer.contains("a=simulcast:recv q;h;f"), "{answer}");
    pair.b
        .set_local_description(SdpType::Answer, &answer)
        .unwrap();
    pair.a
        .set_remote_description(SdpType::Answer, &answer)
        .unwrap();
    assert!(pair.run_until(Duration::from_secs(10), |p| p.opened(false)
        && p.opened(true)));

    let mut map = ExtensionMap::new();
    map.insert_uri(4, uri::MID).unwrap();
    map.insert_uri(10, uri::RID).unwrap();
    let (from, to) = (common::addr(common::A), common::addr(common::B));
    let mut sent = std::collections::HashMap::new();
    for n in 0..10u16 {
        for (layer, rid) in ["q", "h", "f"].into_iter().enumerate() {
            let frame = vp8_frame(u32::from(n) * 3 + layer as u32, n == 0, 200 * (layer + 1));
            let mut w = ExtensionWriter::<2, 40>::new(&map);
            w.put(&Mid("1")).unwrap().put(&Rid(rid)).unwrap();
            let elements = w.elements();
            let header = Header {
                marker: true,
                payload_type: 96,
                sequence_number: 1000 * layer as u16 + n,
                timestamp: 3000 * u32::from(n),
                ssrc: 0x1000 + layer as u32,
                extensions: elements.as_slice(),
                ..Header::default()
            };
            // A VP8 payload descriptor (S bit, partition 0) and the frame: one packet each.
            let mut payload = vec![0x10];
            payload.extend_from_slice(&frame);
            let mut packet = vec![0u8; 2048];
            let len = header.emit(&payload, &mut packet).unwrap();
            let len = pair
                .a
                .srtp()
                .unwrap()
                .outbound
                .protect_rtp(&mut packet, len)
                .unwrap();
            pair.b.handle_packet(pair.now, from, to, &mut packet[..len]);
            sent.entry(rid).or_insert_with(Vec::new).push(frame);
        }
        pair.run_until(Duration::from_millis(33), |_| false);
    }
    for rid in ["q", "h", "f"] {
        let got: Vec<_> = pair
            .events_b
            .iter()
            .filter_map(|e| match e {
                Ev::Media {
                    rid: Some(r), data, ..
                } if r == rid => Some(data.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(&got, &sent[rid], "layer {rid}");
    }
    let stats = pair
        .b
        .media_stats(pair.b.transceiver("1").unwrap())
        .unwrap();
    assert_eq!(stats.frames_received, 30);
    assert_eq!(pair.b.stats().dropped_media_unrouted, 0);
}

#[test]
fn remove_track_and_direction_changes_take_effect_with_the_next_negotiation() {
    let mut pair = connected_av();
    let video = pair.a.transceiver("2").unwrap();
    pair.a.remove_track(video).unwrap();
    // Not yet: the agreed direction still sends until the exchange.
    assert_eq!(pair.a.current_direction(video), Some(Direction::SendOnly));
    assert!(
        pair.a
            .poll_event()
            .is_some_and(|e| e == Event::NegotiationNeeded)
    );
    pair.exchange(true);
    assert_eq!(pair.a.current_direction(video), Some(Direction::Inactive));
    assert_eq!(
        pair.a.write_frame("2", 96, 0, b"x"),
        Err(peerless::MediaError::NotSending)
    );
    // B now wants to send video too; A receives it after B's offer.
    let b_video = pair.b.transceiver("2").unwrap();
    pair.b.set_direction(b_video, Direction::SendRecv).unwrap();
    pair.a.set_direction(video, Direction::RecvOnly).unwrap();
    pair.exchange(false);
    assert_eq!(pair.b.current_direction(b_video), Some(Direction::SendOnly));
    assert_eq!(pair.a.current_direction(video), Some(Direction::RecvOnly));
    pair.events_a.clear();
    pair.run_until(Duration::from_millis(50), |_| false);
    for n in 0..3u32 {
        pair.b
            .write_frame("2", 96, 3000 * n, &vp8_frame(n, n == 0, 1500))
            .unwrap();
        pair.run_until(Duration::from_millis(33), |_| false);
    }
    assert!(
        pair.events_a
            .iter()
            .any(|e| matches!(e, Ev::Track { mid, .. } if mid == "2"))
    );
    assert_eq!(media(&pair.events_a, "2").len(), 3);
}

#[test]
fn codec_preferences_order_and_limit_what_a_transceiver_offers_and_answers() {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    lend_all(&mut pair.a);
    lend_all(&mut pair.b);
    pair.a
        .create_data_channel("chat", Default::default())
        .unwrap();
    let video = pair.a.add_track(MediaKind::Video, "cam").unwrap();
    let audio = pair.a.add_track(MediaKind::Audio, "mic").unwrap();
    // H.264 first, then VP8; nothing else. PCMU only for audio (DTMF stays).
    pair.a
        .set_codec_preferences(video, &[Codec::H264, Codec::Vp8])
        .unwrap();
    pair.a.set_codec_preferences(audio, &[Codec::Pcmu]).unwrap();
    assert_eq!(
        pair.a.set_codec_preferences(audio, &[Codec::Vp8]),
        Err(peerless::MediaError::Unsupported)
    );
    pair.signal();
    let offer = pair.a.current_local_description().unwrap().to_string();
    assert!(
        offer.contains(" UDP/TLS/RTP/SAVPF 102 103 96 97\r\n"),
        "{offer}"
    );
    assert!(
        offer.contains(" UDP/TLS/RTP/SAVPF 0 110 126\r\n"),
        "{offer}"
    );
    // B answers with the offer's order (the offerer's preference).
    let mid = pair.a.mid(video).unwrap().to_string();
    assert_eq!(
        pair.b
            .codecs(pair.b.transceiver(&mid).unwrap())
            .collect::<Vec<_>>(),
        [(102, Codec::H264), (96, Codec::Vp8)]
    );
    // B prefers VP8 for what it answers next: its answer keeps VP8 alone, with the
    // offerer's payload types.
    let b_video = pair.b.transceiver(&mid).unwrap();
    pair.b
        .set_codec_preferences(b_video, &[Codec::Vp8])
        .unwrap();
    pair.exchange(true);
    let answer = pair.b.current_local_description().unwrap().to_string();
    assert!(answer.contains(" UDP/TLS/RTP/SAVPF 96 97\r\n"), "{answer}");
    assert_eq!(pair.a.payload_type(&mid, Codec::H264), None);
    assert_eq!(pair.a.payload_type(&mid, Codec::Vp8), Some(96));
}

#[test]
fn close_says_goodbye_for_every_source_before_the_transport_ends() {
    let mut pair = connected_av();
    for n in 0..3u32 {
        pair.a
            .write_frame("2", 96, 3000 * n, &vp8_frame(n, n == 0, 1500))
            .unwrap();
        pair.a.write_frame("1", 111, 960 * n, &[0x78, 1]).unwrap();
        pair.run_until(Duration::from_millis(33), |_| false);
    }
    pair.a.close();
    pair.shuttle();
    for mid in ["1", "2"] {
        let t = pair.b.transceiver(mid).unwrap();
        assert_eq!(pair.b.media_stats(t).unwrap().byes_received, 1, "{mid}");
    }
}

/// Authenticated garbage (protected with the peer's real SRTP keys, so it reaches the RTP and
/// RTCP parsers, the router, the jitter buffers and the depacketizers) is dropped and counted;
/// media still flows after it.
#[test]
fn authenticated_garbage_is_dropped_and_counted_and_media_goes_on() {
    let mut pair = connected_av();
    pair.a
        .write_frame("2", 96, 0, &vp8_frame(0, true, 2000))
        .unwrap();
    pair.run_until(Duration::from_millis(50), |_| false);
    let (from, to) = (common::addr(common::A), common::addr(common::B));
    let mut x = 0x2545_f491_u32;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut packet = vec![0u8; 2048];
    for i in 0..20_000u32 {
        let len = 4 + (next() % 300) as usize;
        for b in packet.iter_mut().take(len) {
            *b = next() as u8;
        }
        let rtcp = i % 3 == 0;
        if rtcp {
            // V=2, a known or unknown packet type, a length that may or may not fit.
            packet[0] = 0x80 | (next() as u8 & 0x1f);
            packet[1] = [200, 201, 202, 203, 204, 205, 206, next() as u8][(next() % 8) as usize];
        } else {
            packet[0] = 0x80 | (next() as u8 & 0x3f);
            // Mostly negotiated payload types, with our SSRCs or new ones, so the router and
            // the depacketizers see them.
            packet[1] =
                (next() as u8 & 0x80) | [96, 97, 111, 110, 102, 45, 0, 13][(next() % 8) as usize];
        }
        let len = len.max(12);
        let srtp = pair.a.srtp().unwrap();
        let protected = if rtcp {
            srtp.outbound.protect_rtcp(&mut packet, len)
        } else {
            srtp.outbound.protect_rtp(&mut packet, len)
        };
        let Ok(n) = protected else { continue };
        pair.b.handle_packet(pair.now, from, to, &mut packet[..n]);
        while pair.b.poll_event().is_some() {}
        if i % 500 == 0 {
            pair.run_until(Duration::from_millis(5), |_| false);
        }
    }
    let s = pair.b.stats();
    assert!(
        s.dropped_media_malformed + s.dropped_media_unrouted + s.dropped_media_no_area > 0,
        "{s:?}"
    );
    // Real media after the storm: keyframes from A get through (the streams A's random SSRCs
    // opened may hold areas; A's own stream keeps its own).
    pair.events_b.clear();
    for n in 1..=30u32 {
        pair.a
            .write_frame("2", 96, 3000 * n, &vp8_frame(n, true, 2000))
            .unwrap();
        pair.run_until(Duration::from_millis(33), |_| false);
    }
    assert!(
        media(&pair.events_b, "2").len() >= 25,
        "{:?}",
        pair.b.stats()
    );
}

#[test]
fn the_receiver_names_its_synchronization_source_and_its_last_packet() {
    let mut pair = connected_av();
    let b_video = pair.b.transceiver("2").unwrap();
    assert_eq!(pair.b.synchronization_sources(b_video).count(), 0);
    for n in 0..5u32 {
        pair.a
            .write_frame("2", 96, 90_000 + 3000 * n, &vp8_frame(n, n == 0, 900))
            .unwrap();
        pair.run_until(Duration::from_millis(33), |_| false);
    }
    let sources: Vec<_> = pair.b.synchronization_sources(b_video).collect();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].rtp_timestamp, 90_000 + 3000 * 4);
    assert!(sources[0].timestamp <= pair.now);
    assert!(sources[0].timestamp + Duration::from_millis(40) > pair.now);
    // Browsers send no CSRCs: no contributing sources.
    assert_eq!(pair.b.contributing_sources(b_video).count(), 0);
}

#[test]
fn a_tone_before_any_audio_opens_the_stream_and_arrives() {
    // The remote's first audio packets are telephone-events (insertDTMF at connect time).
    let mut pair = connected_av();
    pair.a
        .insert_dtmf(
            "1",
            "5",
            Duration::from_millis(100),
            Duration::from_millis(70),
        )
        .unwrap();
    pair.run_until(Duration::from_secs(1), |_| false);
    assert!(
        pair.events_b
            .iter()
            .any(|e| matches!(e, Ev::Dtmf(Some('5'), _))),
        "{:?}",
        pair.events_b
    );
    assert_eq!(pair.b.stats().dropped_media_unrouted, 0);
}

/// Every packet leaves with the time it left (abs-send-time, for peers that estimate on their
/// side and send REMB) and a transport-wide sequence number in wire order; the estimator's
/// target is the selected pair's `availableOutgoingBitrate`.
#[test]
fn packets_carry_their_send_time_and_the_target_is_in_the_stats() {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), {
        let (s, r) = common::areas();
        let mut config = peerless::Config::new(cb, [2; 32]);
        config.raw_receive = true;
        peerless::Peer::new(config, peerless_base::Instant::ZERO, s, r)
    });
    lend_all(&mut pair.a);
    lend(&mut pair.b, MediaKind::Video, AreaUse::Receive, 64 * 1024);
    pair.a
        .create_data_channel("chat", Default::default())
        .unwrap();
    pair.a.add_track(MediaKind::Video, "cam").unwrap();
    pair.signal();
    let offer = pair.a.local_description().unwrap().to_owned();
    assert!(offer.contains("a=rtcp-fb:96 goog-remb\r\n"), "{offer}");
    assert!(
        offer.contains("a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n")
    );
    assert!(pair.run_until(Duration::from_secs(10), |p| p.opened(false)
        && p.opened(true)));
    let mut sequences = Vec::new();
    for n in 0..10u32 {
        let written = pair.now;
        pair.a
            .write_frame("1", 96, 3000 * n, &vp8_frame(n, n == 0, 3000))
            .unwrap();
        pair.run_until(Duration::from_millis(33), |_| false);
        for e in pair.events_b.drain(..) {
            let Ev::Rtp(_, packet) = e else { continue };
            let view = peerless_rtp::packet::Packet::parse(&packet).unwrap();
            let element = |id| {
                view.extensions()
                    .find(|e| e.id == id)
                    .map(|e| e.data.to_vec())
            };
            let at = element(2).expect("abs-send-time");
            let at = u32::from_be_bytes([0, at[0], at[1], at[2]]);
            let sent = peerless_rtp::extension::AbsSendTime(at).as_micros();
            // Sent within the 33 ms after the frame was written (the field's unit is 4 µs).
            let from = written.as_micros() % 64_000_000;
            assert!(
                sent + 4 >= from && sent <= from + 33_000,
                "{sent} vs {from}"
            );
            let twcc = element(3).expect("transport-wide sequence");
            sequences.push(u16::from_be_bytes([twcc[0], twcc[1]]));
        }
    }
    // In wire order; the numbers missing went to the probe's padding, which the receiver
    // drops as duplicates before its host sees them.
    assert!(sequences.len() >= 30, "{}", sequences.len());
    let gaps: u64 = sequences
        .windows(2)
        .map(|w| u64::from(w[1].wrapping_sub(w[0])) - 1)
        .sum();
    let a = pair
        .a
        .media_stats(pair.a.transceiver("1").unwrap())
        .unwrap();
    assert!(gaps <= a.padding_packets_sent, "{sequences:?} {a:?}");
    assert!(
        sequences.windows(2).all(|w| w[1].wrapping_sub(w[0]) < 8),
        "{sequences:?}"
    );
    let target = pair.a.bitrate_estimate().unwrap();
    let parts = pair.a.bitrate_estimate_parts().unwrap();
    assert!(parts.remb_bps.is_none(), "nobody sent REMB");
    let mut json = String::new();
    pair.a.write_stats_json(&mut json).unwrap();
    assert!(
        json.contains(&format!("\"availableOutgoingBitrate\":{target}")),
        "{json}"
    );
    // Only the sender has one.
    json.clear();
    pair.b.write_stats_json(&mut json).unwrap();
    assert!(!json.contains("availableOutgoingBitrate"));
}
