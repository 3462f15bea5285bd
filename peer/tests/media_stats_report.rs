//! The RTP entries of the getStats report between two Peers sending audio and video both
//! ways: member names as the W3C dictionaries spell them, ids that cross-reference, and values
//! that match what the other side sent, received and reported, with and without loss.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{Ev, Pair, certs, peer};
use peerless::{AreaUse, Codec, MediaKind, Peer, StatsEntry, StatsValue};
use serde_json::Value;

// The dictionaries' members, from "Identifiers for WebRTC's Statistics API" as the editor's
// draft at w3c/webrtc-stats 39fe2f9 (2025-09-25) declares them in WebIDL.

/// RTCStats.
const RTC_STATS: &[&str] = &["timestamp", "type", "id"];
/// #dom-rtcrtpstreamstats: every RTP stream entry.
const RTP_STREAM: &[&str] = &["ssrc", "kind", "transportId", "codecId"];
/// #dom-rtccodecstats.
const CODEC: &[&str] = &[
    "payloadType",
    "transportId",
    "mimeType",
    "clockRate",
    "channels",
    "sdpFmtpLine",
];
/// #dom-rtcreceivedrtpstreamstats: inbound-rtp and remote-inbound-rtp.
const RECEIVED: &[&str] = &[
    "packetsReceived",
    "packetsReceivedWithEct1",
    "packetsReceivedWithCe",
    "packetsReportedAsLost",
    "packetsReportedAsLostButRecovered",
    "packetsLost",
    "jitter",
];
/// #dom-rtcinboundrtpstreamstats.
const INBOUND: &[&str] = &[
    "trackIdentifier",
    "mid",
    "remoteId",
    "framesDecoded",
    "keyFramesDecoded",
    "framesRendered",
    "framesDropped",
    "frameWidth",
    "frameHeight",
    "framesPerSecond",
    "qpSum",
    "totalDecodeTime",
    "totalInterFrameDelay",
    "totalSquaredInterFrameDelay",
    "pauseCount",
    "totalPausesDuration",
    "freezeCount",
    "totalFreezesDuration",
    "lastPacketReceivedTimestamp",
    "headerBytesReceived",
    "packetsDiscarded",
    "fecBytesReceived",
    "fecPacketsReceived",
    "fecPacketsDiscarded",
    "bytesReceived",
    "nackCount",
    "firCount",
    "pliCount",
    "totalProcessingDelay",
    "estimatedPlayoutTimestamp",
    "jitterBufferDelay",
    "jitterBufferTargetDelay",
    "jitterBufferEmittedCount",
    "jitterBufferMinimumDelay",
    "totalSamplesReceived",
    "concealedSamples",
    "silentConcealedSamples",
    "concealmentEvents",
    "insertedSamplesForDeceleration",
    "removedSamplesForAcceleration",
    "audioLevel",
    "totalAudioEnergy",
    "totalSamplesDuration",
    "framesReceived",
    "decoderImplementation",
    "playoutId",
    "powerEfficientDecoder",
    "framesAssembledFromMultiplePackets",
    "totalAssemblyTime",
    "retransmittedPacketsReceived",
    "retransmittedBytesReceived",
    "rtxSsrc",
    "fecSsrc",
    "totalCorruptionProbability",
    "totalSquaredCorruptionProbability",
    "corruptionMeasurements",
];
/// #dom-rtcremoteinboundrtpstreamstats.
const REMOTE_INBOUND: &[&str] = &[
    "localId",
    "roundTripTime",
    "totalRoundTripTime",
    "fractionLost",
    "roundTripTimeMeasurements",
    "packetsWithBleachedEct1Marking",
];
/// #dom-rtcsentrtpstreamstats: outbound-rtp and remote-outbound-rtp.
const SENT: &[&str] = &["packetsSent", "bytesSent"];
/// #dom-rtcoutboundrtpstreamstats.
const OUTBOUND: &[&str] = &[
    "mid",
    "mediaSourceId",
    "remoteId",
    "rid",
    "encodingIndex",
    "headerBytesSent",
    "retransmittedPacketsSent",
    "retransmittedBytesSent",
    "rtxSsrc",
    "targetBitrate",
    "totalEncodedBytesTarget",
    "frameWidth",
    "frameHeight",
    "framesPerSecond",
    "framesSent",
    "hugeFramesSent",
    "framesEncoded",
    "keyFramesEncoded",
    "qpSum",
    "psnrSum",
    "psnrMeasurements",
    "totalEncodeTime",
    "totalPacketSendDelay",
    "qualityLimitationReason",
    "qualityLimitationDurations",
    "qualityLimitationResolutionChanges",
    "nackCount",
    "firCount",
    "pliCount",
    "encoderImplementation",
    "powerEfficientEncoder",
    "active",
    "scalabilityMode",
    "packetsSentWithEct1",
];
/// #dom-rtcremoteoutboundrtpstreamstats.
const REMOTE_OUTBOUND: &[&str] = &[
    "localId",
    "remoteTimestamp",
    "reportsSent",
    "roundTripTime",
    "totalRoundTripTime",
    "roundTripTimeMeasurements",
];

/// The members a type may have, and those we must emit for it (the spec's `required` ones and
/// what we always know). Members the spec forbids for audio are checked in the tests.
fn dictionary(kind: &str) -> (Vec<&'static str>, &'static [&'static str]) {
    let all = |parts: &[&[&'static str]]| parts.concat();
    match kind {
        "codec" => (
            CODEC.to_vec(),
            &["payloadType", "transportId", "mimeType", "clockRate"],
        ),
        "inbound-rtp" => (
            all(&[RTP_STREAM, RECEIVED, INBOUND]),
            &[
                "ssrc",
                "kind",
                "transportId",
                "codecId",
                "trackIdentifier",
                "mid",
                "packetsReceived",
                "bytesReceived",
                "packetsLost",
                "jitter",
                "nackCount",
                "remoteId",
            ],
        ),
        "remote-inbound-rtp" => (
            all(&[RTP_STREAM, RECEIVED, REMOTE_INBOUND]),
            &[
                "ssrc",
                "kind",
                "transportId",
                "codecId",
                "localId",
                "packetsLost",
                "fractionLost",
                "jitter",
                "roundTripTime",
                "totalRoundTripTime",
                "roundTripTimeMeasurements",
            ],
        ),
        "outbound-rtp" => (
            all(&[RTP_STREAM, SENT, OUTBOUND]),
            &[
                "ssrc",
                "kind",
                "transportId",
                "codecId",
                "mid",
                "packetsSent",
                "bytesSent",
                "retransmittedPacketsSent",
                "retransmittedBytesSent",
                "nackCount",
                "remoteId",
            ],
        ),
        "remote-outbound-rtp" => (
            all(&[RTP_STREAM, SENT, REMOTE_OUTBOUND]),
            &[
                "ssrc",
                "kind",
                "transportId",
                "codecId",
                "localId",
                "packetsSent",
                "bytesSent",
                "remoteTimestamp",
                "reportsSent",
            ],
        ),
        _ => (Vec::new(), &[]),
    }
}

const RTP_TYPES: [&str; 5] = [
    "codec",
    "outbound-rtp",
    "remote-inbound-rtp",
    "inbound-rtp",
    "remote-outbound-rtp",
];

/// A VP8 frame the depacketizer takes for what it says (a keyframe: the start code and a
/// 320x240 size), then pseudo-random bytes.
fn vp8_frame(n: u32, keyframe: bool, len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(len);
    if keyframe {
        f.extend_from_slice(&[0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);
    } else {
        f.extend_from_slice(&[0x51, 0x42, 0x00]);
    }
    let mut x = n.wrapping_mul(2_654_435_761) | 1;
    while f.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        f.push(x as u8);
    }
    f
}

fn lend_all(p: &mut Peer) {
    for use_ in [AreaUse::Send, AreaUse::Receive] {
        for (kind, bytes) in [
            (MediaKind::Audio, 64 * 1024),
            (MediaKind::Video, 1024 * 1024),
        ] {
            let area: &'static mut [u8] = Box::leak(vec![0u8; bytes].into_boxed_slice());
            p.lend_media_area(kind, use_, area).unwrap();
        }
    }
}

/// Both Peers send audio and video (mids "1" and "2"), a channel beside them; B receives in
/// raw mode (packets handed out, not frames) when `raw_b`.
fn connected(raw_b: bool) -> Pair {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    lend_all(&mut pair.a);
    lend_all(&mut pair.b);
    pair.a
        .create_data_channel("chat", Default::default())
        .unwrap();
    for p in [&mut pair.a, &mut pair.b] {
        p.add_track(MediaKind::Audio, "s").unwrap();
        p.add_track(MediaKind::Video, "s").unwrap();
    }
    if raw_b {
        let ids: Vec<_> = pair.b.transceivers().collect();
        for id in ids {
            pair.b.set_raw_receive(id, true).unwrap();
        }
    }
    pair.signal();
    assert!(pair.run_until(Duration::from_secs(10), |p| p.opened(false)
        && p.opened(true)));
    pair
}

/// `frames` video frames (every tenth a keyframe) and two Opus packets per frame, about 33 ms
/// apart (the harness stops at the last timer before that); when each frame left, in seconds.
fn send_media(p: &mut Pair, from_a: bool, frames: u32) -> Vec<f64> {
    let mut times = Vec::new();
    for n in 0..frames {
        times.push(p.now.as_micros() as f64 / 1e6);
        let sender = if from_a { &mut p.a } else { &mut p.b };
        let vp8 = sender.payload_type("2", Codec::Vp8).unwrap();
        let opus = sender.payload_type("1", Codec::Opus).unwrap();
        let frame = vp8_frame(n, n % 10 == 0, 2500 + 97 * n as usize);
        sender.write_frame("2", vp8, 3000 * n, &frame).unwrap();
        for k in 0..2 {
            let packet = [0x78, n as u8, k as u8, 0xaa];
            sender
                .write_frame("1", opus, 960 * (2 * n + k), &packet)
                .unwrap();
        }
        p.run_until(Duration::from_millis(33), |_| false);
    }
    times
}

fn json(p: &Peer) -> Vec<Value> {
    let mut s = String::new();
    p.write_stats_json(&mut s).unwrap();
    match serde_json::from_str(&s) {
        Ok(Value::Array(entries)) => entries,
        other => panic!("not a JSON array: {other:?}\n{s}"),
    }
}

fn by_id(entries: &[Value]) -> HashMap<String, &Value> {
    let map: HashMap<_, _> = entries
        .iter()
        .map(|e| (e["id"].as_str().unwrap().to_string(), e))
        .collect();
    assert_eq!(map.len(), entries.len(), "ids are unique");
    map
}

fn of_type<'v>(entries: &'v [Value], kind: &str) -> Vec<&'v Value> {
    entries.iter().filter(|e| e["type"] == kind).collect()
}

/// The entry of `kind` for the stream of `media` (audio or video).
fn stream<'v>(entries: &'v [Value], kind: &str, media: &str) -> &'v Value {
    let all: Vec<_> = of_type(entries, kind)
        .into_iter()
        .filter(|e| e["kind"] == media)
        .collect();
    assert_eq!(all.len(), 1, "one {media} {kind}: {entries:?}");
    all[0]
}

/// The entry an id member names.
fn named<'v>(entries: &'v [Value], id: &Value) -> &'v Value {
    let id = id.as_str().unwrap_or_else(|| panic!("not an id: {id}"));
    by_id(entries)
        .get(id)
        .copied()
        .unwrap_or_else(|| panic!("no entry {id}"))
}

/// The parameters of `a=fmtp:<pt>` in a description.
fn fmtp(sdp: &str, pt: u64) -> Option<String> {
    let prefix = format!("a=fmtp:{pt} ");
    sdp.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .map(str::to_string)
}

#[test]
fn member_names_are_the_spec_dictionaries_and_ids_cross_reference() {
    let mut pair = connected(false);
    let _ = send_media(&mut pair, true, 20);
    let _ = send_media(&mut pair, false, 20);
    // Reports flow at least once a second.
    pair.run_until(Duration::from_secs(4), |_| false);
    for p in [&pair.a, &pair.b] {
        let entries = json(p);
        for kind in RTP_TYPES {
            let (members, must) = dictionary(kind);
            let of_kind = of_type(&entries, kind);
            // Opus and VP8 each way: two codecs, two streams of each kind.
            assert_eq!(of_kind.len(), 2, "{kind}: {entries:?}");
            for e in of_kind {
                let obj = e.as_object().unwrap();
                for name in obj.keys() {
                    assert!(
                        RTC_STATS.contains(&name.as_str()) || members.contains(&name.as_str()),
                        "{kind} has `{name}`, which is no member of its dictionary"
                    );
                }
                for name in RTC_STATS.iter().chain(must) {
                    assert!(obj.contains_key(*name), "{kind} lacks `{name}`: {e}");
                }
                // The spec has no frame, PLI or FIR counts for audio.
                if e["kind"] == "audio" {
                    for name in ["framesSent", "framesReceived", "pliCount", "firCount"] {
                        assert!(obj.get(name).is_none(), "audio {kind} has {name}");
                    }
                }
                if e["kind"] == "video" && matches!(kind, "outbound-rtp" | "inbound-rtp") {
                    for name in ["pliCount", "firCount"] {
                        assert!(obj.contains_key(name), "video {kind} lacks {name}");
                    }
                }
            }
        }
        let transport = &of_type(&entries, "transport")[0]["id"];
        for kind in RTP_TYPES {
            for e in of_type(&entries, kind) {
                assert_eq!(&e["transportId"], transport, "{e}");
                if kind != "codec" {
                    assert_eq!(named(&entries, &e["codecId"])["type"], "codec", "{e}");
                }
            }
        }
        for e in of_type(&entries, "outbound-rtp") {
            let remote = named(&entries, &e["remoteId"]);
            assert_eq!(remote["type"], "remote-inbound-rtp");
            assert_eq!(remote["localId"], e["id"]);
            assert_eq!(remote["ssrc"], e["ssrc"]);
            assert_eq!(remote["codecId"], e["codecId"]);
        }
        for e in of_type(&entries, "inbound-rtp") {
            let remote = named(&entries, &e["remoteId"]);
            assert_eq!(remote["type"], "remote-outbound-rtp");
            assert_eq!(remote["localId"], e["id"]);
            assert_eq!(remote["ssrc"], e["ssrc"]);
        }
        // The codecs are the ones in use, and their kinds are their streams'.
        for media in ["audio", "video"] {
            for kind in ["outbound-rtp", "inbound-rtp"] {
                let s = stream(&entries, kind, media);
                let codec = named(&entries, &s["codecId"]);
                assert!(
                    codec["mimeType"]
                        .as_str()
                        .unwrap()
                        .starts_with(&format!("{media}/")),
                    "{codec}"
                );
            }
        }
    }
    // Each side's outbound stream is the other's inbound one.
    let (a, b) = (json(&pair.a), json(&pair.b));
    for media in ["audio", "video"] {
        for (tx, rx) in [(&a, &b), (&b, &a)] {
            let out = stream(tx, "outbound-rtp", media);
            let inb = stream(rx, "inbound-rtp", media);
            assert_eq!(out["ssrc"], inb["ssrc"]);
            assert_eq!(out["mid"], inb["mid"]);
            let (co, ci) = (named(tx, &out["codecId"]), named(rx, &inb["codecId"]));
            assert_eq!(co["payloadType"], ci["payloadType"]);
            assert_eq!(co["mimeType"], ci["mimeType"]);
        }
    }
}

#[test]
fn values_match_what_the_other_side_sent_received_and_reported() {
    let mut pair = connected(false);
    let times = send_media(&mut pair, true, 30);
    let _ = send_media(&mut pair, false, 12);
    pair.run_until(Duration::from_secs(4), |_| false);
    let (a, b) = (json(&pair.a), json(&pair.b));
    let now = pair.now.as_micros() as f64 / 1000.0;
    for (tx, rx, frames) in [(&a, &b, 30), (&b, &a, 12)] {
        for media in ["audio", "video"] {
            let out = stream(tx, "outbound-rtp", media);
            let inb = stream(rx, "inbound-rtp", media);
            // A perfect link: everything sent arrived, nothing lost or repeated.
            assert!(out["packetsSent"].as_u64().unwrap() >= frames);
            assert_eq!(out["packetsSent"], inb["packetsReceived"], "{media}");
            assert_eq!(out["bytesSent"], inb["bytesReceived"], "{media}");
            assert_eq!(inb["packetsLost"], 0);
            assert_eq!(out["retransmittedPacketsSent"], 0);
            assert_eq!(out["nackCount"], 0);
            assert_eq!(inb["nackCount"], 0);
            if media == "video" {
                assert_eq!(out["framesSent"], frames);
                assert_eq!(inb["framesReceived"], frames);
                assert_eq!(inb["retransmittedPacketsReceived"], 0);
                assert_eq!(out["rtxSsrc"].as_u64().map(|_| ()), Some(()));
            } else {
                // Opus has no RTX: retransmissions cannot be told apart, so no member.
                assert!(inb.get("retransmittedPacketsReceived").is_none());
                assert!(out.get("rtxSsrc").is_none());
            }
            // The receiver's reception report, as the sender's remote-inbound-rtp.
            let ri = named(tx, &out["remoteId"]);
            assert_eq!(ri["packetsLost"], inb["packetsLost"]);
            assert_eq!(ri["fractionLost"].as_f64(), Some(0.0));
            assert_eq!(ri["jitter"].as_f64(), inb["jitter"].as_f64(), "{media}");
            assert!(
                ri["roundTripTimeMeasurements"].as_u64().unwrap() >= 2,
                "{ri}"
            );
            let rtt = ri["roundTripTime"].as_f64().unwrap();
            let total = ri["totalRoundTripTime"].as_f64().unwrap();
            assert!(rtt >= 0.0 && total >= rtt, "{ri}");
            assert!(ri["timestamp"].as_f64().unwrap() <= now);
            // The sender's last sender report, as the receiver's remote-outbound-rtp: no
            // retransmissions, so its counts are the sender's.
            let ro = named(rx, &inb["remoteId"]);
            assert_eq!(ro["packetsSent"], out["packetsSent"], "{media}");
            assert_eq!(ro["bytesSent"], out["bytesSent"], "{media}");
            assert!(ro["reportsSent"].as_u64().unwrap() >= 2, "{ro}");
            // The sender's NTP clock starts at the Unix epoch with its Instant origin, and the
            // link delivers at once: the report's time is its arrival time.
            let (remote, local) = (
                ro["remoteTimestamp"].as_f64().unwrap(),
                ro["timestamp"].as_f64().unwrap(),
            );
            // A stream that stopped sends no more SRs after two report intervals (RFC 3550
            // §6.4: its sender sends RRs), so the entry keeps the last one's time.
            assert!((remote - local).abs() < 0.001, "{remote} {local}");
            assert!(local > 0.0 && local <= now, "{local} {now}");
        }
    }
    for entries in [&a, &b] {
        for e in entries.iter() {
            if !e["type"].as_str().unwrap().starts_with("remote-") {
                assert_eq!(e["timestamp"].as_f64(), Some(now));
            }
        }
    }
    // The inbound jitter is RFC 3550's, in seconds: a smoothed mean of how far each frame's
    // spacing (the link delivers at once) is from its timestamps' 3000 ticks (1/30 s), so it
    // is above zero and no more than the largest such difference (and a tick of rounding).
    let jitter = stream(&b, "inbound-rtp", "video")["jitter"]
        .as_f64()
        .unwrap();
    let largest = times
        .windows(2)
        .map(|w| (w[1] - w[0] - 1.0 / 30.0).abs())
        .fold(0.0, f64::max);
    assert!(
        jitter > 0.0 && jitter <= largest + 1.0 / 90_000.0,
        "{jitter} {largest}"
    );
    // Codecs as the answer (B's description) agreed them.
    let answer = pair.b.current_local_description().unwrap().to_string();
    for (entries, media) in [(&a, "audio"), (&a, "video"), (&b, "audio"), (&b, "video")] {
        let codec = named(entries, &stream(entries, "outbound-rtp", media)["codecId"]);
        let pt = codec["payloadType"].as_u64().unwrap();
        let rtpmap = format!("a=rtpmap:{pt} ");
        let line = answer
            .lines()
            .find_map(|l| l.strip_prefix(rtpmap.as_str()))
            .unwrap();
        let mut parts = line.split('/');
        let name = parts.next().unwrap();
        assert_eq!(codec["mimeType"], format!("{media}/{name}"));
        assert_eq!(
            codec["clockRate"].as_u64(),
            parts.next().map(|c| c.parse().unwrap())
        );
        assert_eq!(
            codec["channels"].as_u64(),
            parts.next().map(|c| c.parse().unwrap())
        );
        assert_eq!(
            codec["sdpFmtpLine"].as_str().map(str::to_string),
            fmtp(&answer, pt)
        );
    }
    let opus = named(&a, &stream(&a, "outbound-rtp", "audio")["codecId"]);
    assert_eq!(opus["mimeType"], "audio/opus");
    assert_eq!(opus["channels"], 2);
    // The track id is the one A's description gives the track in its a=msid.
    let offer = pair.a.current_local_description().unwrap().to_string();
    let inb = stream(&b, "inbound-rtp", "video");
    let section = offer.split("m=video").nth(1).unwrap();
    let msid = section
        .lines()
        .find_map(|l| l.strip_prefix("a=msid:"))
        .unwrap();
    assert_eq!(inb["trackIdentifier"], msid.split(' ').nth(1).unwrap());
}

/// Datagrams from A that were dropped.
static DROPPED: AtomicU64 = AtomicU64::new(0);
static SEEN: AtomicU64 = AtomicU64::new(0);

#[test]
fn a_lossy_link_shows_in_nacks_and_retransmissions() {
    let mut pair = connected(false);
    // Every 7th video RTP packet from A (SRTP, payload type 96; RTX's 97 passes) is lost.
    pair.drop_from_a = |d| {
        let lost = (0x80..0xc0).contains(&d[0])
            && d[1] & 0x7f == 96
            && SEEN.fetch_add(1, Ordering::Relaxed) % 7 == 3;
        if lost {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
        lost
    };
    let mut frames = 0;
    for n in 0..40u32 {
        let frame = vp8_frame(n, n == 0, 4000);
        pair.a.write_frame("2", 96, 3000 * n, &frame).unwrap();
        frames += 1;
        pair.run_until(Duration::from_millis(33), |_| false);
    }
    pair.run_until(Duration::from_secs(3), |_| false);
    let dropped = DROPPED.load(Ordering::Relaxed);
    assert!(dropped > 10, "{dropped}");
    let got = pair
        .events_b
        .iter()
        .filter(|e| matches!(e, Ev::Media { mid, .. } if mid == "2"))
        .count();
    assert_eq!(got, frames, "every frame, repaired");
    let (a, b) = (json(&pair.a), json(&pair.b));
    let out = stream(&a, "outbound-rtp", "video");
    let inb = stream(&b, "inbound-rtp", "video");
    let n = |v: &Value, name: &str| v[name].as_u64().unwrap();
    // What left A, with the probes' padding (recent packets again as RTX, not in the
    // report), is what B received, plus what the link dropped, plus the RTX packets that found
    // their packet already there (the padding, and retransmissions that crossed the original:
    // B drops those uncounted).
    let padding = pair
        .a
        .media_stats(pair.a.transceiver("2").unwrap())
        .unwrap()
        .padding_packets_sent;
    let duplicates = pair
        .b
        .media_stats(pair.b.transceiver("2").unwrap())
        .unwrap()
        .duplicates_received;
    assert!(
        padding > 0 && duplicates >= padding,
        "{padding} {duplicates}"
    );
    assert_eq!(
        n(out, "packetsSent") + padding,
        n(inb, "packetsReceived") + dropped + duplicates
    );
    // B asked, A answered, over a perfect reverse link: the counts agree.
    assert!(n(inb, "nackCount") > 0);
    assert_eq!(n(inb, "nackCount"), n(out, "nackCount"));
    assert!(n(out, "retransmittedPacketsSent") > 0);
    // Every retransmission arrived: as a repair, or as a duplicate besides the padding.
    assert_eq!(
        n(out, "retransmittedPacketsSent"),
        n(inb, "retransmittedPacketsReceived") + (duplicates - padding)
    );
    assert!(n(out, "retransmittedBytesSent") > 0);
    assert!(n(out, "retransmittedBytesSent") < n(out, "bytesSent"));
    assert_eq!(n(inb, "framesReceived"), frames as u64);
    assert_eq!(inb["rtxSsrc"], out["rtxSsrc"]);
    // A's sender report counts originals only: the retransmissions are the difference.
    let ro = named(&b, &inb["remoteId"]);
    assert_eq!(
        n(ro, "packetsSent"),
        n(out, "packetsSent") - n(out, "retransmittedPacketsSent")
    );
    assert_eq!(
        n(ro, "bytesSent"),
        n(out, "bytesSent") - n(out, "retransmittedBytesSent")
    );
    // B's report on the stream reached A as it left B.
    let ri = named(&a, &out["remoteId"]);
    assert_eq!(ri["packetsLost"], inb["packetsLost"]);
}

#[test]
fn typed_entries_say_what_the_json_says() {
    let mut pair = connected(false);
    let _ = send_media(&mut pair, true, 5);
    let _ = send_media(&mut pair, false, 5);
    pair.run_until(Duration::from_secs(3), |_| false);
    for p in [&pair.a, &pair.b] {
        let entries = json(p);
        let mut typed = Vec::new();
        p.stats_report(|e: StatsEntry<'_>| {
            let mut members = Vec::new();
            e.members(&mut |name, v| {
                let v = match v {
                    StatsValue::Str(s) => Value::from(s.to_string()),
                    StatsValue::Uint(n) => Value::from(n),
                    StatsValue::Int(n) => Value::from(n),
                    StatsValue::Float(x) => Value::from(x),
                    StatsValue::Bool(b) => Value::from(b),
                    _ => panic!("a value kind the test does not know"),
                };
                members.push((name.to_string(), v));
                Ok(())
            })
            .unwrap();
            // The typed entries carry what JSON leaves out: the inbound stream's rid.
            if let StatsEntry::InboundRtp(i) = &e {
                assert_eq!(i.rid, None);
                assert!(i.mid == "1" || i.mid == "2");
            }
            typed.push((e.type_name().to_string(), e.id().to_string(), members));
        });
        assert_eq!(entries.len(), typed.len());
        for (e, (kind, id, members)) in entries.iter().zip(&typed) {
            assert_eq!(e["type"], kind.as_str());
            assert_eq!(e["id"], id.as_str());
            let obj = e.as_object().unwrap();
            assert_eq!(obj.len(), members.len(), "{e}");
            for (name, value) in members {
                if value.is_f64() {
                    assert_eq!(obj[name].as_f64(), value.as_f64(), "{kind} {name}");
                } else {
                    assert_eq!(&obj[name], value, "{kind} {name}");
                }
            }
        }
        for kind in RTP_TYPES {
            assert!(typed.iter().any(|t| t.0 == kind), "no {kind}");
        }
    }
}

#[test]
fn before_media_flows_there_is_no_codec_and_no_remote_entry() {
    let pair = connected(false);
    let entries = json(&pair.a);
    for kind in [
        "codec",
        "inbound-rtp",
        "remote-inbound-rtp",
        "remote-outbound-rtp",
    ] {
        assert!(of_type(&entries, kind).is_empty(), "{kind} before media");
    }
    // The negotiated senders exist, with nothing sent and no codec yet.
    let out = of_type(&entries, "outbound-rtp");
    assert_eq!(out.len(), 2);
    for o in out {
        assert_eq!(o["packetsSent"], 0);
        assert!(o.get("codecId").is_none() && o.get("remoteId").is_none());
    }
}

#[test]
fn a_raw_receiver_counts_packets_but_no_frames() {
    let mut pair = connected(true);
    let _ = send_media(&mut pair, true, 10);
    pair.run_until(Duration::from_secs(2), |_| false);
    let (a, b) = (json(&pair.a), json(&pair.b));
    let out = stream(&a, "outbound-rtp", "video");
    let inb = stream(&b, "inbound-rtp", "video");
    assert_eq!(inb["packetsReceived"], out["packetsSent"]);
    assert_eq!(inb["bytesReceived"], out["bytesSent"]);
    assert_eq!(out["framesSent"], 10);
    // Packets went to the host unjoined: there is no frame count to give.
    assert!(inb.get("framesReceived").is_none(), "{inb}");
    assert!(inb.get("pliCount").is_some());
}
