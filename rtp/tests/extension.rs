//! Typed header extensions: known answers from GStreamer's rtphdrext elements and aiortc
//! (both read by value and written byte for byte), values derived by hand from the
//! specifications, the map's rules, and write-then-read / arbitrary-bytes properties.

// Test helpers outside #[test] functions: a failure must stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use peerless_rtp::extension::{
    AbsCaptureTime, AbsSendTime, AudioLevel, Extension, ExtensionError, ExtensionKind,
    ExtensionMap, ExtensionValues, ExtensionWriter, Mid, PlayoutDelay, RepairedRid, Rid, Rotation,
    TransportSequenceNumber, VideoOrientation, uri,
};
use peerless_rtp::packet::{Element, ExtensionProfile, Header, Packet};
use proptest::prelude::*;

/// Where the known answers live: `PEERLESS_RTP_DATA` (an interop script's fresh output) or
/// the checked-in copies.
fn data(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("PEERLESS_RTP_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data"),
        PathBuf::from,
    );
    let path = dir.join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// RFC 4571 framing: a 16-bit length before each packet.
fn framed(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let [hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let (packet, after) = tail.split_at(len);
        out.push(packet);
        rest = after;
    }
    out
}

/// Re-emits `packet`'s fixed header and payload with our own extension elements.
fn emit_like(packet: &Packet<'_>, elements: &[Element<'_>]) -> Vec<u8> {
    let header = Header {
        marker: packet.marker(),
        payload_type: packet.payload_type(),
        sequence_number: packet.sequence_number(),
        timestamp: packet.timestamp(),
        ssrc: packet.ssrc(),
        extensions: elements,
        ..Header::default()
    };
    let mut buf = vec![0u8; 1500];
    let n = header.emit(packet.payload(), &mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn map_from(first_id: u8, uris: &[&str]) -> ExtensionMap {
    let mut map = ExtensionMap::new();
    for (i, u) in uris.iter().enumerate() {
        assert!(map.insert_uri(first_id + i as u8, u).unwrap().is_some());
    }
    map
}

#[test]
fn gstreamer_one_byte_elements_read_as_their_values_and_we_write_the_same_bytes() {
    let bytes = data("hdrext_gst.rtp");
    let packets = framed(&bytes);
    assert_eq!(packets.len(), 10);
    let map = map_from(
        1,
        &[
            uri::MID,
            uri::RID,
            uri::REPAIRED_RID,
            uri::TRANSPORT_SEQUENCE_NUMBER,
            uri::AUDIO_LEVEL,
        ],
    );
    let mut first_tsn = None;
    for (i, bytes) in packets.iter().enumerate() {
        let packet = Packet::parse(bytes).unwrap();
        assert_eq!(packet.extension().unwrap().0, ExtensionProfile::ONE_BYTE);
        let v = map.values(&packet);
        assert_eq!(v.malformed, 0);
        assert_eq!(v.mid, Some(Mid("audio0")));
        assert_eq!(v.rid, Some(Rid("hi")));
        assert_eq!(v.repaired_rid, Some(RepairedRid("lo")));
        let tsn = v.transport_sequence_number.unwrap().0;
        let first = *first_tsn.get_or_insert(tsn);
        assert_eq!(
            tsn,
            first.wrapping_add(i as u16),
            "one counter, +1 a packet"
        );
        let level = AudioLevel {
            voice_activity: i % 2 == 0,
            level: 10 + 3 * i as u8,
        };
        assert_eq!(v.audio_level, Some(level));
        assert_eq!(map.read::<AudioLevel>(&packet), Ok(Some(level)));
        assert_eq!(map.read::<AbsSendTime>(&packet), Ok(None), "not negotiated");

        let mut w = ExtensionWriter::<8, 64>::new(&map);
        w.put(&Mid("audio0")).unwrap();
        w.put(&Rid("hi")).unwrap();
        w.put(&RepairedRid("lo")).unwrap();
        w.put(&TransportSequenceNumber(tsn)).unwrap();
        w.put(&level).unwrap();
        assert_eq!(
            hex(&emit_like(&packet, w.elements().as_slice())),
            hex(bytes),
            "packet {i} byte for byte"
        );
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn opt<T: std::str::FromStr>(s: &str) -> Option<T>
where
    T::Err: std::fmt::Debug,
{
    (s != "-").then(|| s.parse().unwrap())
}

#[test]
fn aiortc_packets_in_both_forms_read_as_their_values_and_we_write_the_same_bytes() {
    let text = String::from_utf8(data("hdrext_aiortc.txt")).unwrap();
    let uris = [
        uri::MID,
        uri::RID,
        uri::REPAIRED_RID,
        uri::ABS_SEND_TIME,
        uri::AUDIO_LEVEL,
        uri::TRANSPORT_SEQUENCE_NUMBER,
    ];
    let (one, two) = (map_from(1, &uris), map_from(17, &uris));
    let mut forms = [0; 2];
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let [hex_packet, form, mid, rid, rrid, ast, voice, level, tsn] = f[..] else {
            panic!("bad line {line}")
        };
        let bytes = unhex(hex_packet);
        let packet = Packet::parse(&bytes).unwrap();
        let map = if form == "one" { &one } else { &two };
        let expected = {
            let mut v = ExtensionValues::default();
            v.mid = opt::<String>(mid).map(|_| Mid(mid));
            v.rid = opt::<String>(rid).map(|_| Rid(rid));
            v.repaired_rid = opt::<String>(rrid).map(|_| RepairedRid(rrid));
            v.abs_send_time = opt(ast).map(AbsSendTime);
            v.audio_level = opt::<u8>(voice).map(|voice| AudioLevel {
                voice_activity: voice == 1,
                level: level.parse().unwrap(),
            });
            v.transport_sequence_number = opt(tsn).map(TransportSequenceNumber);
            v
        };
        assert_eq!(map.values(&packet), expected, "{line}");
        if let Some((profile, _)) = packet.extension() {
            forms[usize::from(profile == ExtensionProfile::TWO_BYTE)] += 1;
            assert_eq!(profile.is_two_byte(), form == "two", "{line}");
        }

        // aiortc writes mid, repaired-rid, rid, abs-send-time, audio level, transport seq.
        let mut w = ExtensionWriter::<8, 128>::new(map);
        if let Some(x) = expected.mid {
            w.put(&x).unwrap();
        }
        if let Some(x) = expected.repaired_rid {
            w.put(&x).unwrap();
        }
        if let Some(x) = expected.rid {
            w.put(&x).unwrap();
        }
        if let Some(x) = expected.abs_send_time {
            w.put(&x).unwrap();
        }
        if let Some(x) = expected.audio_level {
            w.put(&x).unwrap();
        }
        if let Some(x) = expected.transport_sequence_number {
            w.put(&x).unwrap();
        }
        assert_eq!(
            hex(&emit_like(&packet, w.elements().as_slice())),
            hex_packet,
            "{line}"
        );
    }
    assert!(
        forms[0] > 10 && forms[1] > 10,
        "both forms covered: {forms:?}"
    );
}

/// Values derived by hand from each specification's field layout.
#[test]
fn hand_derived_known_answers() {
    fn bytes<'a, E: Extension<'a>>(value: &E) -> Vec<u8> {
        let mut out = [0u8; 32];
        let n = value.emit(&mut out).unwrap();
        out[..n].to_vec()
    }
    // abs-send-time: 6.18 fixed point, 1.5 s = 1.5 * 2^18 = 0x060000; 64 s wraps to 0;
    // 63.999996 s (one step below the wrap) = 0xffffff.
    assert_eq!(AbsSendTime::from_micros(1_500_000), AbsSendTime(0x06_0000));
    assert_eq!(bytes(&AbsSendTime(0x06_0000)), [0x06, 0x00, 0x00]);
    assert_eq!(AbsSendTime::from_micros(64_000_000), AbsSendTime(0));
    assert_eq!(AbsSendTime::from_micros(63_999_997), AbsSendTime(0xff_ffff));
    assert_eq!(AbsSendTime(0x06_0000).as_micros(), 1_500_000);
    // RFC 6464 §3: V in the top bit, the level in -dBov below it.
    assert_eq!(
        AudioLevel::parse(&[0x80 | 42]),
        Ok(AudioLevel {
            voice_activity: true,
            level: 42
        })
    );
    assert_eq!(
        bytes(&AudioLevel {
            voice_activity: false,
            level: 127
        }),
        [0x7f]
    );
    // TS 26.114 §7.4.5: 0 0 0 0 C F R1 R0. Back camera, flipped, 270 degrees = 0b1111.
    let cvo = VideoOrientation {
        back_camera: true,
        flip: true,
        rotation: Rotation::Deg270,
    };
    assert_eq!(bytes(&cvo), [0x0f]);
    assert_eq!(
        VideoOrientation::parse(&[0x01]),
        Ok(VideoOrientation {
            back_camera: false,
            flip: false,
            rotation: Rotation::Deg90
        })
    );
    assert_eq!(
        VideoOrientation::parse(&[0xf2]).unwrap().rotation,
        Rotation::Deg180
    );
    // playout-delay: min and max, 12 bits each: 100 ms..2 s = 10 and 200 units = 0x00a 0x0c8.
    let delay = PlayoutDelay { min: 10, max: 200 };
    assert_eq!(bytes(&delay), [0x00, 0xa0, 0xc8]);
    assert_eq!((delay.min_ms(), delay.max_ms()), (100, 2000));
    assert_eq!(PlayoutDelay::parse(&[0x00, 0xa0, 0xc8]), Ok(delay));
    assert_eq!(
        PlayoutDelay::parse(&[0x0c, 0x80, 0x0a]),
        Err(ExtensionError::Malformed),
        "min > max"
    );
    // abs-capture-time: NTP Q32.32, then an optional signed Q32.32 offset (-0.5 s).
    let t = AbsCaptureTime {
        timestamp: 0x0102_0304_8000_0000,
        estimated_capture_clock_offset: None,
    };
    assert_eq!(bytes(&t), [1, 2, 3, 4, 0x80, 0, 0, 0]);
    let t = AbsCaptureTime {
        estimated_capture_clock_offset: Some(-(1 << 31)),
        ..t
    };
    assert_eq!(
        bytes(&t),
        [
            1, 2, 3, 4, 0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0
        ]
    );
    assert_eq!(AbsCaptureTime::parse(&bytes(&t)), Ok(t));
    assert_eq!(
        AbsCaptureTime::parse(&[0; 12]),
        Err(ExtensionError::Malformed)
    );
    // transport-wide sequence number: 16 bits, big endian.
    assert_eq!(bytes(&TransportSequenceNumber(0x1234)), [0x12, 0x34]);
    assert_eq!(
        TransportSequenceNumber::parse(&[0x12, 0x34, 0]),
        Err(ExtensionError::Malformed)
    );
    // SDES text: trailing zero bytes are padding; empty, control or non-ASCII bytes are not text.
    assert_eq!(Mid::parse(b"0\0\0"), Ok(Mid("0")));
    assert_eq!(Mid::parse(b"\0"), Err(ExtensionError::Malformed));
    assert_eq!(Rid::parse(b"a b"), Err(ExtensionError::Malformed));
    assert_eq!(Rid::parse("é".as_bytes()), Err(ExtensionError::Malformed));
}

#[test]
fn the_map_gives_each_id_one_kind() {
    let mut map = ExtensionMap::new();
    for (i, kind) in ExtensionKind::ALL.into_iter().enumerate() {
        assert_eq!(ExtensionKind::from_uri(kind.uri()), Some(kind));
        map.insert(i as u8 + 1, kind).unwrap();
    }
    assert_eq!(map.iter().count(), ExtensionKind::ALL.len());
    assert_eq!(
        map.insert(0, ExtensionKind::Mid),
        Err(ExtensionError::InvalidId)
    );
    assert_eq!(
        map.insert(2, ExtensionKind::Mid),
        Err(ExtensionError::InvalidId),
        "2 is rid's"
    );
    map.insert(200, ExtensionKind::Mid).unwrap();
    assert_eq!(
        (map.id(ExtensionKind::Mid), map.kind(1), map.kind(200)),
        (Some(200), None, Some(ExtensionKind::Mid))
    );
    map.remove(ExtensionKind::Rid);
    assert_eq!((map.id(ExtensionKind::Rid), map.kind(2)), (None, None));
    assert_eq!(
        map.insert_uri(2, "urn:ietf:params:rtp-hdrext:toffset"),
        Ok(None)
    );
    assert_eq!(map.kind(0), None);
}

#[test]
fn the_writer_says_what_it_cannot_write() {
    let mut map = ExtensionMap::new();
    map.insert(1, ExtensionKind::Mid).unwrap();
    map.insert(2, ExtensionKind::AudioLevel).unwrap();
    let mut w = ExtensionWriter::<2, 8>::new(&map);
    assert_eq!(w.put(&Rid("x")).err(), Some(ExtensionError::NotNegotiated));
    assert_eq!(w.put(&Mid("")).err(), Some(ExtensionError::InvalidValue));
    assert_eq!(
        w.put(&Mid("a\u{7f}")).err(),
        Some(ExtensionError::InvalidValue)
    );
    assert_eq!(
        w.put(&AudioLevel {
            voice_activity: false,
            level: 128
        })
        .err(),
        Some(ExtensionError::InvalidValue)
    );
    assert_eq!(
        w.put(&Mid("123456789")).err(),
        Some(ExtensionError::Full),
        "9 bytes in 8"
    );
    assert!(
        w.elements().as_slice().is_empty(),
        "failed puts leave nothing"
    );
    w.put(&Mid("1234567")).unwrap();
    w.put(&AudioLevel {
        voice_activity: true,
        level: 0,
    })
    .unwrap();
    assert_eq!(
        w.put(&AudioLevel {
            voice_activity: true,
            level: 0
        })
        .err(),
        Some(ExtensionError::Full)
    );
    assert_eq!(w.elements().as_slice().len(), 2);
    w.clear();
    assert!(w.elements().as_slice().is_empty());
    assert_eq!(
        PlayoutDelay { min: 5, max: 4 }.emit(&mut [0; 3]),
        Err(ExtensionError::InvalidValue)
    );
    assert_eq!(
        AbsSendTime(1 << 24).emit(&mut [0; 3]),
        Err(ExtensionError::InvalidValue)
    );
}

/// A long mid (over 16 bytes) or a high id makes the header use the two-byte form.
#[test]
fn an_element_that_needs_two_bytes_switches_the_form() {
    let mut map = ExtensionMap::new();
    map.insert(1, ExtensionKind::Mid).unwrap();
    map.insert(15, ExtensionKind::TransportSequenceNumber)
        .unwrap();
    for (mid, tsn, two_byte) in [
        ("short", false, false),
        ("seventeen-bytes-x", false, true),
        ("short", true, true),
    ] {
        let mut w = ExtensionWriter::<4, 64>::new(&map);
        w.put(&Mid(mid)).unwrap();
        if tsn {
            w.put(&TransportSequenceNumber(9)).unwrap();
        }
        let elements = w.elements();
        let header = Header {
            extensions: elements.as_slice(),
            ..Header::default()
        };
        let mut buf = [0u8; 128];
        let n = header.emit(b"", &mut buf).unwrap();
        let packet = Packet::parse(&buf[..n]).unwrap();
        assert_eq!(packet.extension().unwrap().0.is_two_byte(), two_byte);
        assert_eq!(map.read::<Mid<'_>>(&packet), Ok(Some(Mid(mid))));
        assert_eq!(
            map.read::<TransportSequenceNumber>(&packet),
            Ok(tsn.then_some(TransportSequenceNumber(9)))
        );
    }
}

fn sdes_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(0x21u8..=0x7e, 1..=40).prop_map(|b| String::from_utf8(b).unwrap())
}

#[derive(Clone, Debug)]
struct Values {
    mid: Option<String>,
    rid: Option<String>,
    repaired_rid: Option<String>,
    abs_send_time: Option<AbsSendTime>,
    tsn: Option<TransportSequenceNumber>,
    audio_level: Option<AudioLevel>,
    video_orientation: Option<VideoOrientation>,
    playout_delay: Option<PlayoutDelay>,
    abs_capture_time: Option<AbsCaptureTime>,
}

fn values() -> impl Strategy<Value = Values> {
    let rotation = prop_oneof![
        Just(Rotation::Deg0),
        Just(Rotation::Deg90),
        Just(Rotation::Deg180),
        Just(Rotation::Deg270)
    ];
    (
        (
            proptest::option::of(sdes_text()),
            proptest::option::of(sdes_text()),
            proptest::option::of(sdes_text()),
        ),
        proptest::option::of((0u32..1 << 24).prop_map(AbsSendTime)),
        proptest::option::of(any::<u16>().prop_map(TransportSequenceNumber)),
        proptest::option::of((any::<bool>(), 0u8..128).prop_map(|(v, l)| AudioLevel {
            voice_activity: v,
            level: l,
        })),
        proptest::option::of(
            (any::<bool>(), any::<bool>(), rotation).prop_map(|(c, f, r)| VideoOrientation {
                back_camera: c,
                flip: f,
                rotation: r,
            }),
        ),
        proptest::option::of((0u16..=4095, 0u16..=4095).prop_map(|(a, b)| PlayoutDelay {
            min: a.min(b),
            max: a.max(b),
        })),
        proptest::option::of((any::<u64>(), proptest::option::of(any::<i64>())).prop_map(
            |(t, o)| AbsCaptureTime {
                timestamp: t,
                estimated_capture_clock_offset: o,
            },
        )),
    )
        .prop_map(
            |(
                (mid, rid, repaired_rid),
                abs_send_time,
                tsn,
                audio_level,
                video_orientation,
                playout_delay,
                abs_capture_time,
            )| Values {
                mid,
                rid,
                repaired_rid,
                abs_send_time,
                tsn,
                audio_level,
                video_orientation,
                playout_delay,
                abs_capture_time,
            },
        )
}

/// The property tests' case count: `PROPTEST_CASES` when set (CI raises it), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    /// Every value written through the writer and a header reads back the same, with any
    /// distinct ids (one- or two-byte form as the ids and lengths need).
    #[test]
    fn write_then_read_returns_every_value(v in values(), ids in proptest::sample::subsequence((1u8..=255).collect::<Vec<_>>(), 9).prop_shuffle()) {
        let mut map = ExtensionMap::new();
        for (kind, id) in ExtensionKind::ALL.into_iter().zip(&ids) {
            map.insert(*id, kind).unwrap();
        }
        let mut w = ExtensionWriter::<9, 256>::new(&map);
        if let Some(x) = &v.mid { w.put(&Mid(x)).unwrap(); }
        if let Some(x) = &v.rid { w.put(&Rid(x)).unwrap(); }
        if let Some(x) = &v.repaired_rid { w.put(&RepairedRid(x)).unwrap(); }
        if let Some(x) = &v.abs_send_time { w.put(x).unwrap(); }
        if let Some(x) = &v.tsn { w.put(x).unwrap(); }
        if let Some(x) = &v.audio_level { w.put(x).unwrap(); }
        if let Some(x) = &v.video_orientation { w.put(x).unwrap(); }
        if let Some(x) = &v.playout_delay { w.put(x).unwrap(); }
        if let Some(x) = &v.abs_capture_time { w.put(x).unwrap(); }
        let elements = w.elements();
        let header = Header { payload_type: 96, ssrc: 5, extensions: elements.as_slice(), ..Header::default() };
        let mut buf = [0u8; 512];
        let n = header.emit(b"x", &mut buf).unwrap();
        let packet = Packet::parse(&buf[..n]).unwrap();
        let got = map.values(&packet);
        prop_assert_eq!(got.malformed, 0);
        prop_assert_eq!(got.mid.map(|m| m.0), v.mid.as_deref());
        prop_assert_eq!(got.rid.map(|m| m.0), v.rid.as_deref());
        prop_assert_eq!(got.repaired_rid.map(|m| m.0), v.repaired_rid.as_deref());
        prop_assert_eq!(got.abs_send_time, v.abs_send_time);
        prop_assert_eq!(got.transport_sequence_number, v.tsn);
        prop_assert_eq!(got.audio_level, v.audio_level);
        prop_assert_eq!(got.video_orientation, v.video_orientation);
        prop_assert_eq!(got.playout_delay, v.playout_delay);
        prop_assert_eq!(got.abs_capture_time, v.abs_capture_time);
        prop_assert_eq!(map.read::<AbsCaptureTime>(&packet), Ok(v.abs_capture_time));
    }

    /// Arbitrary element data never panics a reader, and what reads writes back the same.
    #[test]
    fn arbitrary_bytes_never_panic_and_what_reads_round_trips(data in proptest::collection::vec(any::<u8>(), 0..40)) {
        macro_rules! check {
            ($($ty:ident),*) => {$(
                if let Ok(value) = $ty::parse(&data) {
                    let mut out = [0u8; 64];
                    let n = value.emit(&mut out).unwrap();
                    prop_assert_eq!($ty::parse(&out[..n]).unwrap(), value);
                }
            )*};
        }
        // Video orientation ignores its reserved bits, so only the meaning round-trips.
        check!(Mid, Rid, RepairedRid, AbsSendTime, TransportSequenceNumber, AudioLevel, PlayoutDelay, AbsCaptureTime, VideoOrientation);
    }

    /// Arbitrary packets never panic the map's readers.
    #[test]
    fn arbitrary_packets_never_panic_the_map(bytes in proptest::collection::vec(any::<u8>(), 0..80), first in 1u8..240) {
        let mut map = ExtensionMap::new();
        for (i, kind) in ExtensionKind::ALL.into_iter().enumerate() {
            map.insert(first + i as u8 % 15, kind).ok();
        }
        if let Ok(packet) = Packet::parse(&bytes) {
            let _ = map.values(&packet);
            let _ = map.read::<Mid<'_>>(&packet);
            let _ = map.read::<AbsCaptureTime>(&packet);
        }
    }
}
