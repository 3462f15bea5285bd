//! The command-line peer's media files (examples/host/media.rs) on the committed test clips
//! (tests/media, made by tests/media/make.sh): each source yields the frames ffprobe counted
//! when the clip was made, loops with RTP time running on, and each sink writes the frames
//! back into a file that ffmpeg decodes without an error, frame for frame. The ffmpeg half
//! is skipped, with a printed reason, only when ffmpeg is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../examples/host/media.rs"]
mod media;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use media::{AudioSink, AudioSource, VideoSink, VideoSource};
use peerless::rtp::codec::av1::{Av1Depacketizer, Av1Packetizer};
use peerless::rtp::codec::h264::{H264Depacketizer, H264Packetizer};
use peerless::rtp::codec::h265::{H265Depacketizer, H265Packetizer};
use peerless::rtp::codec::opus::{OpusDepacketizer, OpusPacketizer};
use peerless::rtp::codec::vp8::{Vp8Depacketizer, Vp8Packetizer};
use peerless::rtp::codec::vp9::{Vp9Depacketizer, Vp9Packetizer};
use peerless::rtp::codec::{Depacketizer, FrameBuf, PacketizationMode, Packetizer, Packets};
use peerless::rtp::container::ivf::IvfReader;

/// What ffprobe said of each clip when make.sh made it: frames (`-count_frames`) and the
/// keyframes (`-show_entries frame=key_frame`).
const VIDEO: [(&str, &str, usize, [usize; 2]); 5] = [
    ("clip.vp8.ivf", "VP8", 60, [0, 30]),
    ("clip.vp9.ivf", "VP9", 60, [0, 30]),
    ("clip.av1.ivf", "AV1", 60, [0, 30]),
    ("clip.h264", "H264", 60, [0, 30]),
    ("clip.h265", "H265", 60, [0, 30]),
];

/// A frame as the receiving Peer hands it out: packetized into 1200-octet payloads and
/// rebuilt by the format's depacketizer.
fn through_rtp<P: Packetizer, D: Depacketizer>(p: &mut P, d: &mut D, frame: &[u8]) -> Vec<u8> {
    let mut packets = p.packetize(frame, 1200).unwrap();
    let mut payload = [0u8; 1200];
    let mut rebuilt = vec![0u8; 1 << 20];
    let mut buf = FrameBuf::new(&mut rebuilt);
    while let Some(len) = packets.next_payload(&mut payload) {
        d.push(&payload[..len.unwrap().len], &mut buf).unwrap();
    }
    let info = d.finish(&mut buf).unwrap();
    buf.as_slice()[..info.len].to_vec()
}

/// Turns a sent frame into the frame the receiver hands out.
type ReceivePath = Box<dyn FnMut(&[u8]) -> Vec<u8>>;

/// The receive path for one codec: each frame through its payload format.
fn rtp_path(codec: &str) -> ReceivePath {
    fn path<P: Packetizer + 'static, D: Depacketizer + 'static>(mut p: P, mut d: D) -> ReceivePath {
        Box::new(move |frame| through_rtp(&mut p, &mut d, frame))
    }
    match codec {
        "VP8" => path(Vp8Packetizer::default(), Vp8Depacketizer::new()),
        "VP9" => path(Vp9Packetizer::default(), Vp9Depacketizer::new()),
        "AV1" => path(Av1Packetizer::new(), Av1Depacketizer::new()),
        "H264" => path(
            H264Packetizer::new(PacketizationMode::NonInterleaved),
            H264Depacketizer::new(),
        ),
        "H265" => path(H265Packetizer::new(), H265Depacketizer::new()),
        "opus" => path(OpusPacketizer::new(), OpusDepacketizer::new()),
        _ => unreachable!(),
    }
}

fn clip(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/media")
        .join(name)
}

fn out_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("peerless-media-{}-{name}", std::process::id()))
}

fn have_ffmpeg() -> bool {
    let ok = Command::new("ffprobe").arg("-version").output().is_ok()
        && Command::new("ffmpeg").arg("-version").output().is_ok();
    if !ok {
        println!("skipped the ffmpeg checks: ffmpeg/ffprobe is not installed");
    }
    ok
}

/// ffmpeg's error output decoding `path` (empty when clean) and ffprobe's count of what it
/// decoded: frames for video, packets for audio.
fn ffmpeg_check(path: &Path, input: &[&str], video: bool) -> (String, String) {
    let decode = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error"])
        .args(input)
        .arg("-i")
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    let mut errors = String::from_utf8_lossy(&decode.stderr).into_owned();
    if !decode.status.success() {
        errors.push_str(" (ffmpeg failed)");
    }
    let (count, entry) = if video {
        ("-count_frames", "stream=nb_read_frames")
    } else {
        ("-count_packets", "stream=nb_read_packets")
    };
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            count,
            "-show_entries",
            entry,
            "-of",
            "csv=p=0",
        ])
        .args(input)
        .arg(path)
        .output()
        .unwrap();
    let n = String::from_utf8_lossy(&probe.stdout).trim().to_string();
    (errors, n)
}

#[test]
fn video_sources_yield_every_frame_and_loop() {
    for (name, codec, frames, keyframes) in VIDEO {
        let mut source = VideoSource::open(clip(name)).unwrap();
        assert_eq!(source.codec(), codec, "{name}");
        assert_eq!(source.frames(), frames, "{name}");
        assert_eq!(
            source.frame_interval().as_micros(),
            33_333,
            "{name}: 30 fps"
        );
        let mut first_pass = Vec::new();
        let mut keys = Vec::new();
        for i in 0..frames {
            let (time, data) = source.next_frame();
            assert_eq!(time, i as u32 * 3000, "{name} frame {i}");
            first_pass.push(data.to_vec());
            if source.is_keyframe() {
                keys.push(i);
            }
        }
        assert_eq!(keys, keyframes, "{name}");
        // The second pass repeats the frames, one frame interval after the first ended.
        for (i, frame) in first_pass.iter().enumerate() {
            let (time, data) = source.next_frame();
            assert_eq!(time, (frames + i) as u32 * 3000, "{name} loop frame {i}");
            assert_eq!(data, frame, "{name} loop frame {i}");
        }
    }
}

#[test]
fn video_sinks_write_what_ffmpeg_decodes() {
    let ffmpeg = have_ffmpeg();
    for (name, codec, frames, _) in VIDEO {
        let mut source = VideoSource::open(clip(name)).unwrap();
        let ext = if name.ends_with(".ivf") {
            "ivf"
        } else {
            &name[5..]
        };
        let out = out_path(&format!("{codec}.{ext}"));
        // Codec names in any case; an RTP time base just below the wrap.
        let mut sink = VideoSink::create(&out, &codec.to_lowercase()).unwrap();
        let base = u32::MAX - 30_000;
        let mut receive = rtp_path(codec);
        for _ in 0..frames {
            let (time, data) = source.next_frame();
            sink.write_frame(base.wrapping_add(time), &receive(data))
                .unwrap();
        }
        assert_eq!(sink.frames() as usize, frames);
        sink.finish().unwrap();
        let written = std::fs::read(&out).unwrap();
        if ext == "ivf" {
            let (header, reader) = IvfReader::new(&written).unwrap();
            assert_eq!(header.frame_count as usize, frames, "{name}: count patched");
            assert_eq!(
                (header.timebase_numerator, header.timebase_denominator),
                (1, 90_000)
            );
            let frames_back: Vec<_> = reader.map(Result::unwrap).collect();
            let stamps: Vec<u64> = frames_back.iter().map(|f| f.timestamp).collect();
            if codec == "AV1" {
                // The depacketizer dropped the temporal delimiters; the sink puts them back.
                assert!(frames_back.iter().all(|f| f.data.starts_with(&[0x12, 0])));
            }
            let expected: Vec<u64> = (0..frames as u64).map(|i| i * 3000).collect();
            assert_eq!(stamps, expected, "{name}: timestamps across the RTP wrap");
            if codec == "VP8" {
                assert_eq!((header.width, header.height), (320, 240));
            }
        }
        if ffmpeg {
            let (errors, decoded) = ffmpeg_check(&out, &[], true);
            assert_eq!(errors, "", "{name}: ffmpeg's errors");
            assert_eq!(decoded, frames.to_string(), "{name}: frames decoded");
        }
        std::fs::remove_file(&out).unwrap();
    }
}

#[test]
fn sinks_refuse_a_container_that_cannot_hold_the_codec() {
    let out = out_path("wrong.ivf");
    assert!(VideoSink::create(&out, "H264").is_err());
    assert!(VideoSink::create(out_path("wrong.h264"), "VP8").is_err());
    assert!(AudioSink::create(out_path("wrong.opus"), "PCMU").is_err());
    assert!(AudioSink::create(out_path("wrong.ulaw"), "speex").is_err());
    assert!(!out.exists());
}

#[test]
fn opus_source_and_sink_round_trip() {
    // ffprobe: 101 packets of 20 ms (the encoder's look-ahead adds one to 2 s).
    let mut source = AudioSource::open(clip("tone.opus")).unwrap();
    assert_eq!(source.codec(), "opus");
    assert_eq!(source.channels(), 1);
    assert_eq!(source.clock_rate(), 48_000);
    assert_eq!(source.frames(), 101);
    assert_eq!(source.frame_interval(), Duration::from_millis(20));
    let out = out_path("tone.opus");
    let mut sink = AudioSink::create(&out, "OPUS").unwrap();
    let mut packets = Vec::new();
    let mut receive = rtp_path("opus");
    for i in 0..101u32 {
        let (time, data) = source.next_frame();
        assert_eq!(time, i * 960);
        packets.push(data.to_vec());
        sink.write_frame(time, &receive(data)).unwrap();
    }
    let (time, data) = source.next_frame();
    assert_eq!((time, data), (101 * 960, &packets[0][..]), "loops");
    assert!(
        sink.write_frame(0, &[]).is_err(),
        "an empty packet has no TOC"
    );
    sink.finish().unwrap();
    // What the sink wrote reads back packet for packet through the source.
    let mut back = AudioSource::open(&out).unwrap();
    assert_eq!(back.frames(), 101);
    for (i, p) in packets.iter().enumerate() {
        assert_eq!(back.next_frame().1, &p[..], "packet {i}");
    }
    if have_ffmpeg() {
        let (errors, decoded) = ffmpeg_check(&out, &[], false);
        assert_eq!(errors, "", "ffmpeg's errors");
        assert_eq!(decoded, "101");
    }
    std::fs::remove_file(&out).unwrap();
}

#[test]
fn g711_source_and_sink_round_trip() {
    for (name, codec, format) in [
        ("tone.ulaw", "PCMU", "mulaw"),
        ("tone.alaw", "PCMA", "alaw"),
    ] {
        let original = std::fs::read(clip(name)).unwrap();
        let mut source = AudioSource::open(clip(name)).unwrap();
        assert_eq!(source.codec(), codec);
        assert_eq!(source.clock_rate(), 8_000);
        // 2 s at 8 kHz: 16000 octets, 100 frames of 160.
        assert_eq!(source.frames(), 100);
        assert_eq!(source.frame_interval(), Duration::from_millis(20));
        let out = out_path(name);
        let mut sink = AudioSink::create(&out, codec).unwrap();
        for i in 0..100u32 {
            let (time, data) = source.next_frame();
            assert_eq!(time, i * 160);
            assert_eq!(data.len(), 160);
            sink.write_frame(time, data).unwrap();
        }
        assert_eq!(source.next_frame().0, 100 * 160, "loops");
        sink.finish().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), original, "{name}");
        if have_ffmpeg() {
            let input = ["-f", format, "-ar", "8000", "-ac", "1"];
            let (errors, _) = ffmpeg_check(&out, &input, false);
            assert_eq!(errors, "", "{name}: ffmpeg's errors");
        }
        std::fs::remove_file(&out).unwrap();
    }
}
