//! One type over every payload format (`rtp::codec::{Codec, AnyPacketizer, AnyDepacketizer}`):
//! each format's real frames (the per-format tests' files, tests/data/README.md) round-trip
//! through the enums, and the enums write exactly the payloads and frames the format's own
//! machines write; `Codec::from_rtpmap` names the formats of Chrome's and Firefox's offers; the
//! enums' sizes are printed (`cargo test -p peerless-rtp --test codec_any -- --nocapture`).

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod codec_support;

use core::mem::size_of;

use codec_support::{depacketize_all, ogg, packetize_all, read};
use peerless_rtp::codec::av1::{Av1Depacketizer, Av1Packetizer};
use peerless_rtp::codec::g711::{G711Depacketizer, G711Packetizer};
use peerless_rtp::codec::g722::{G722Depacketizer, G722Packetizer};
use peerless_rtp::codec::h264::{H264Depacketizer, H264Packetizer};
use peerless_rtp::codec::h265::{H265Depacketizer, H265Packetizer};
use peerless_rtp::codec::opus::{OpusDepacketizer, OpusPacketizer};
use peerless_rtp::codec::vp8::{Vp8Depacketizer, Vp8Packetizer};
use peerless_rtp::codec::vp9::{Vp9Depacketizer, Vp9Packetizer};
use peerless_rtp::codec::{
    AnyDepacketizer, AnyPacketizer, Codec, Depacketizer, PacketizationMode, Packetizer,
    PacketizerOptions,
};
use peerless_rtp::container::ivf::IvfReader;

const MAX_PAYLOAD: usize = 1200;
const FRAME_CAPACITY: usize = 256 * 1024;

fn ivf_frames(name: &str) -> Vec<Vec<u8>> {
    let file = read(name);
    let (_, frames) = IvfReader::new(&file).unwrap();
    frames.map(|f| f.unwrap().data.to_vec()).collect()
}

/// Records behind a big-endian u32 length (the H.264/H.265 access-unit files).
fn access_units(name: &str) -> Vec<Vec<u8>> {
    let bytes = read(name);
    let mut out = Vec::new();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        out.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    out
}

/// The file's audio cut into 20 ms frames of `octets_per_ms` (G.711 and G.722: 8).
fn audio_frames(name: &str) -> Vec<Vec<u8>> {
    read(name).chunks(20 * 8).map(<[u8]>::to_vec).collect()
}

fn opus_frames() -> Vec<Vec<u8>> {
    let mut packets = ogg::packets(&read("opus_gst.ogg"));
    packets.split_off(2)
}

/// Every frame through the enums and through the format's own machines: the same payloads,
/// the same frames back; returns the frames the enums rebuilt and how many were keyframes.
fn round_trip<P: Packetizer, D: Depacketizer>(
    codec: Codec,
    frames: &[Vec<u8>],
    mut own_packetizer: P,
    mut own_depacketizer: D,
) -> (Vec<Vec<u8>>, usize) {
    let mut packetizer = AnyPacketizer::new(codec, &PacketizerOptions::default()).unwrap();
    let mut depacketizer = AnyDepacketizer::new(codec).unwrap();
    let mut rebuilt = Vec::new();
    let mut keyframes = 0;
    for (i, frame) in frames.iter().enumerate() {
        let payloads = packetize_all(&mut packetizer, frame, MAX_PAYLOAD).unwrap();
        let own = packetize_all(&mut own_packetizer, frame, MAX_PAYLOAD).unwrap();
        assert_eq!(payloads, own, "{codec} frame {i}: payloads");
        assert!(!payloads.is_empty());
        if codec.is_video() {
            assert!(
                payloads.last().unwrap().1,
                "{codec} frame {i}: marker on the last"
            );
        }
        for (payload, _) in &payloads {
            let info = depacketizer.inspect(payload).unwrap();
            assert_eq!(info, own_depacketizer.inspect(payload).unwrap());
        }
        let bodies: Vec<&[u8]> = payloads.iter().map(|(p, _)| &p[..]).collect();
        let (out, info) = depacketize_all(&mut depacketizer, &bodies, FRAME_CAPACITY).unwrap();
        let (own_out, own_info) =
            depacketize_all(&mut own_depacketizer, &bodies, FRAME_CAPACITY).unwrap();
        assert_eq!(
            (&out, info),
            (&own_out, own_info),
            "{codec} frame {i}: frame"
        );
        keyframes += usize::from(info.keyframe);
        rebuilt.push(out);
    }
    (rebuilt, keyframes)
}

#[test]
fn vp8_and_vp9_frames_round_trip_unchanged() {
    let frames = ivf_frames("vp8_gst.ivf");
    let (out, keyframes) = round_trip(
        Codec::Vp8,
        &frames,
        Vp8Packetizer::new(Default::default()),
        Vp8Depacketizer::new(),
    );
    assert_eq!(out, frames);
    // keyframe-max-dist=5 over 10 frames.
    assert_eq!(keyframes, 2);
    let frames = ivf_frames("vp9_gst.ivf");
    let (out, keyframes) = round_trip(
        Codec::Vp9,
        &frames,
        Vp9Packetizer::new(Default::default()),
        Vp9Depacketizer::new(),
    );
    assert_eq!(out, frames);
    assert_eq!(keyframes, 2);
}

#[test]
fn h264_and_h265_access_units_round_trip() {
    for (codec, file) in [
        (Codec::H264, "h264_gst_au.bin"),
        (Codec::H265, "h265_gst_au.bin"),
    ] {
        let frames = access_units(file);
        assert_eq!(frames.len(), 10);
        let (out, keyframes) = if codec == Codec::H264 {
            round_trip(
                codec,
                &frames,
                H264Packetizer::<256>::new(PacketizationMode::NonInterleaved),
                H264Depacketizer::new(),
            )
        } else {
            round_trip(
                codec,
                &frames,
                H265Packetizer::<256>::new(),
                H265Depacketizer::new(),
            )
        };
        // -g 5 / keyint=5: IDR (IRAP) at 0 and 5.
        assert_eq!(keyframes, 2, "{codec}");
        assert_eq!(same_on_the_wire(codec, &out, &frames), 10);
        // The depacketizer writes 4-byte start codes; the units are the same.
        let units = |au: &[u8]| -> Vec<Vec<u8>> {
            peerless_rtp::codec::annexb::NalUnits::new(au)
                .unwrap()
                .map(|u| u.to_vec())
                .collect()
        };
        for (a, b) in out.iter().zip(&frames) {
            assert_eq!(units(a), units(b), "{codec}");
        }
    }
}

#[test]
fn av1_temporal_units_round_trip() {
    let frames = ivf_frames("av1_aom.ivf");
    let (out, keyframes) = round_trip(
        Codec::Av1,
        &frames,
        Av1Packetizer::new(),
        Av1Depacketizer::new(),
    );
    assert_eq!(out.len(), 10);
    assert_eq!(keyframes, 2);
    // Temporal delimiters are dropped on the wire and size fields rewritten: what comes back
    // is what was sent.
    assert_eq!(same_on_the_wire(Codec::Av1, &out, &frames), 10);
}

/// How many rebuilt frames packetize to the same payloads as the originals (formats whose
/// frame form is normalized on the way: start codes, temporal delimiters, size fields).
fn same_on_the_wire(codec: Codec, rebuilt: &[Vec<u8>], frames: &[Vec<u8>]) -> usize {
    let options = PacketizerOptions::default();
    let (mut a, mut b) = (
        AnyPacketizer::new(codec, &options).unwrap(),
        AnyPacketizer::new(codec, &options).unwrap(),
    );
    rebuilt
        .iter()
        .zip(frames)
        .filter(|(r, f)| {
            packetize_all(&mut a, r, MAX_PAYLOAD).unwrap()
                == packetize_all(&mut b, f, MAX_PAYLOAD).unwrap()
        })
        .count()
}

#[test]
fn audio_frames_round_trip_unchanged() {
    let frames = opus_frames();
    let (out, _) = round_trip(
        Codec::Opus,
        &frames,
        OpusPacketizer::new(),
        OpusDepacketizer::new(),
    );
    assert_eq!(out, frames);
    for (codec, file) in [
        (Codec::Pcmu, "pcmu_gst.pcmu"),
        (Codec::Pcma, "pcma_gst.pcma"),
    ] {
        let frames = audio_frames(file);
        let (out, keyframes) = round_trip(
            codec,
            &frames,
            G711Packetizer::new(20),
            G711Depacketizer::new(),
        );
        assert_eq!(out, frames);
        assert_eq!(keyframes, frames.len(), "every audio frame decodes alone");
    }
    let frames = audio_frames("g722_gst.g722");
    let (out, _) = round_trip(
        Codec::G722,
        &frames,
        G722Packetizer::new(20),
        G722Depacketizer::new(),
    );
    assert_eq!(out, frames);
}

#[test]
fn telephone_event_has_no_byte_frame_machines() {
    let options = PacketizerOptions::default();
    assert!(AnyPacketizer::new(Codec::TelephoneEvent, &options).is_none());
    assert!(AnyDepacketizer::new(Codec::TelephoneEvent).is_none());
    for codec in Codec::ALL
        .into_iter()
        .filter(|&c| c != Codec::TelephoneEvent)
    {
        assert!(AnyPacketizer::new(codec, &options).is_some(), "{codec}");
        assert!(AnyDepacketizer::new(codec).is_some(), "{codec}");
    }
}

/// Every `a=rtpmap` of an offer: (payload type, encoding name, clock rate).
fn rtpmaps(sdp: &str) -> Vec<(u8, String, u32)> {
    sdp.lines()
        .filter_map(|l| l.strip_prefix("a=rtpmap:"))
        .map(|l| {
            let (pt, rest) = l.split_once(' ').unwrap();
            let mut parts = rest.split('/');
            let name = parts.next().unwrap().to_string();
            let rate = parts.next().unwrap().trim().parse().unwrap();
            (pt.parse().unwrap(), name, rate)
        })
        .collect()
}

#[test]
fn the_formats_of_chrome_and_firefox_offers() {
    use Codec::*;
    let chrome =
        include_str!("../../sdp/tests/fixtures/chromium-offer-audio-video-datachannel.sdp");
    let firefox =
        include_str!("../../sdp/tests/fixtures/firefox-offer-audio-video-datachannel.sdp");
    let named = |sdp: &str| -> Vec<(u8, Option<Codec>)> {
        rtpmaps(sdp)
            .into_iter()
            .map(|(pt, name, rate)| (pt, Codec::from_rtpmap(&name, rate)))
            .collect()
    };
    assert_eq!(
        named(chrome),
        [
            (111, Some(Opus)),
            (63, None), // red
            (9, Some(G722)),
            (0, Some(Pcmu)),
            (8, Some(Pcma)),
            (13, None), // CN
            (110, Some(TelephoneEvent)),
            (126, Some(TelephoneEvent)),
            (96, Some(Vp8)),
            (97, None), // rtx
            (102, Some(H264)),
            (103, None),
            (104, Some(H264)),
            (107, None),
            (108, Some(H264)),
            (109, None),
            (114, Some(H264)),
            (115, None),
            (116, Some(H264)),
            (117, None),
            (39, Some(H264)),
            (40, None),
            (45, Some(Av1)),
            (46, None),
            (98, Some(Vp9)),
            (99, None),
            (100, Some(Vp9)),
            (101, None),
            (118, None), // red
            (119, None),
            (120, None), // ulpfec
        ]
    );
    assert_eq!(
        named(firefox),
        [
            (109, Some(Opus)),
            (9, Some(G722)),
            (0, Some(Pcmu)),
            (8, Some(Pcma)),
            (101, Some(TelephoneEvent)),
            (120, Some(Vp8)),
            (124, None),
            (121, Some(Vp9)),
            (125, None),
            (99, Some(Av1)),
            (100, None),
            (123, None), // ulpfec
            (122, None), // red
            (119, None),
        ]
    );
    // The static payload types agree with the rtpmaps that restate them.
    for (pt, name, rate) in rtpmaps(chrome).into_iter().chain(rtpmaps(firefox)) {
        if pt < 96
            && let Some(codec) = Codec::from_static_payload_type(pt)
        {
            assert_eq!(Codec::from_rtpmap(&name, rate), Some(codec));
        }
    }
}

#[test]
fn rtpmap_names_are_case_insensitive_and_rates_must_match() {
    for codec in Codec::ALL {
        assert_eq!(
            Codec::from_rtpmap(codec.name(), codec.clock_rate()),
            Some(codec)
        );
        let upper = codec.name().to_ascii_uppercase();
        let lower = codec.name().to_ascii_lowercase();
        assert_eq!(Codec::from_rtpmap(&upper, codec.clock_rate()), Some(codec));
        assert_eq!(Codec::from_rtpmap(&lower, codec.clock_rate()), Some(codec));
        assert_eq!(Codec::from_rtpmap(codec.name(), 12_345), None);
    }
    assert_eq!(Codec::from_rtpmap("OPUS", 48_000), Some(Codec::Opus));
    assert_eq!(Codec::from_rtpmap("opus", 8_000), None);
    assert_eq!(Codec::from_rtpmap("VP8", 48_000), None);
    assert_eq!(
        Codec::from_rtpmap("telephone-event", 48_000),
        Some(Codec::TelephoneEvent)
    );
    for name in ["rtx", "red", "ulpfec", "flexfec-03", "CN", "ILBC", ""] {
        assert_eq!(Codec::from_rtpmap(name, 90_000), None, "{name}");
        assert_eq!(Codec::from_rtpmap(name, 8_000), None, "{name}");
    }
    let video: Vec<Codec> = Codec::ALL.into_iter().filter(|c| c.is_video()).collect();
    assert_eq!(
        video,
        [Codec::Vp8, Codec::Vp9, Codec::H264, Codec::H265, Codec::Av1]
    );
    assert_eq!(Codec::from_static_payload_type(96), None);
}

#[test]
fn print_the_enum_sizes() {
    let packetizer = size_of::<AnyPacketizer>();
    let depacketizer = size_of::<AnyDepacketizer>();
    println!("size_of AnyPacketizer = {packetizer} bytes");
    println!("size_of AnyDepacketizer = {depacketizer} bytes");
    println!("size_of Codec = {} bytes", size_of::<Codec>());
    println!(
        "largest formats: H264Packetizer = {}, H265Packetizer = {}, H264Depacketizer = {}, Vp9Depacketizer = {}",
        size_of::<H264Packetizer>(),
        size_of::<H265Packetizer>(),
        size_of::<H264Depacketizer>(),
        size_of::<Vp9Depacketizer>(),
    );
    // The enums cost their largest format and a tag, nothing more.
    assert!(packetizer <= size_of::<H265Packetizer>().max(size_of::<H264Packetizer>()) + 8);
    assert!(packetizer <= 1024, "{packetizer}");
    assert!(depacketizer <= 1024, "{depacketizer}");
    assert_eq!(size_of::<Codec>(), 1);
}
