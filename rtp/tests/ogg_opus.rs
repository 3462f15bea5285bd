//! Ogg Opus files from independent writers (ffmpeg's libopus muxer, GStreamer's oggmux) read
//! with `container::ogg`, and what `OggOpusWriter` writes decoded by ffmpeg. The files and the
//! commands that made them are in tests/data/README.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use peerless_rtp::codec::opus::opus_packet_samples;
use peerless_rtp::container::ogg::{OggOpusWriter, OggReader, OpusHead, pages_len};

fn read(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A packet read back: bytes, granule position, last flag.
type Read = (Vec<u8>, Option<u64>, bool);

/// Every packet of the file: bytes, granule position, last flag.
fn packets(file: &[u8]) -> Vec<Read> {
    let mut reader = OggReader::new(file);
    let mut buf = vec![0u8; 1 << 16];
    let mut out = Vec::new();
    while let Some(p) = reader.next_packet(&mut buf) {
        let p = p.unwrap();
        out.push((p.data.to_vec(), p.granule, p.last));
    }
    out
}

/// The granule positions agree with the packets' TOC durations: equal on every page but the
/// last, which may trim the end (RFC 7845 §4.5) by less than one packet.
fn check_granules(audio: &[Read]) -> u64 {
    let mut samples = 0u64;
    for (i, (data, granule, last)) in audio.iter().enumerate() {
        let duration = u64::from(opus_packet_samples(data).unwrap());
        samples += duration;
        match granule {
            Some(g) if *last => assert!(*g <= samples && *g > samples - duration, "packet {i}"),
            Some(g) => assert_eq!(*g, samples, "packet {i}"),
            None => {}
        }
        assert_eq!(*last, i + 1 == audio.len());
    }
    samples
}

#[test]
fn ffmpeg_file_reads() {
    // `ffmpeg -f lavfi -i sine=frequency=440 -t 1 -c:a libopus opus_ffmpeg.opus`: ffprobe
    // counts 51 packets and a duration of 48312 samples at 48 kHz (1.0065 s).
    let all = packets(&read("opus_ffmpeg.opus"));
    let head = OpusHead::parse(&all[0].0).unwrap();
    assert_eq!(
        (head.channels, head.pre_skip, head.output_gain),
        (1, 312, 0)
    );
    // ffmpeg records the rate it resampled to for libopus, not the source's 44.1 kHz.
    assert_eq!(head.input_sample_rate, 48_000);
    assert!(all[1].0.starts_with(b"OpusTags"));
    let audio = &all[2..];
    assert_eq!(audio.len(), 51);
    // ffmpeg puts the first 50 packets on one page and the last on its own.
    assert_eq!(audio[49].1, Some(48_000));
    assert!(audio[..49].iter().all(|p| p.1.is_none()));
    assert_eq!(audio[50].1, Some(48_312));
    assert_eq!(check_granules(audio), 51 * 960);
}

#[test]
fn gstreamer_file_reads() {
    // oggmux's pages, DTX packets of one octet among the speech; opusenc flushes its
    // look-ahead with a 61st packet, and the last page trims the end to 57912 samples
    // (ffprobe: 61 packets, duration_ts 57912).
    let all = packets(&read("opus_gst.ogg"));
    let head = OpusHead::parse(&all[0].0).unwrap();
    assert_eq!(head.channels, 1);
    let audio = &all[2..];
    assert_eq!(audio.len(), 61);
    assert_eq!(audio[60].1, Some(57_912));
    assert!(audio.iter().any(|p| p.0.len() == 1), "DTX packets");
    assert_eq!(check_granules(audio), 61 * 960);
}

/// Writes the audio packets of `file` again with our writer.
fn rewrite(file: &[u8]) -> (Vec<u8>, usize) {
    let all = packets(file);
    let head = OpusHead::parse(&all[0].0).unwrap();
    let mut out = vec![0u8; 512];
    let (mut writer, n) = OggOpusWriter::start(0x7065_6572, &head, &mut out).unwrap();
    out.truncate(n);
    let audio = &all[2..];
    for (i, (data, _, _)) in audio.iter().enumerate() {
        let mut page = vec![0u8; pages_len(data.len())];
        let n = writer
            .write_packet(data, i + 1 == audio.len(), &mut page)
            .unwrap();
        out.extend_from_slice(&page[..n]);
    }
    (out, audio.len())
}

#[test]
fn written_file_reads_back_and_ffmpeg_decodes_it() {
    let source = read("opus_ffmpeg.opus");
    let (file, count) = rewrite(&source);
    let original = packets(&source);
    let back = packets(&file);
    assert_eq!(OpusHead::parse(&back[0].0), OpusHead::parse(&original[0].0));
    let data = |p: &[Read]| p[2..].iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(data(&back), data(&original));
    // Every page of ours ends a packet: every packet carries its granule.
    assert_eq!(check_granules(&back[2..]), 51 * 960);
    assert!(back[2..].iter().all(|p| p.1.is_some()));

    if Command::new("ffmpeg").arg("-version").output().is_err() {
        println!("skipped the ffmpeg half: ffmpeg is not installed");
        return;
    }
    let path = std::env::temp_dir().join(format!("peerless-ogg-{}.opus", std::process::id()));
    std::fs::write(&path, &file).unwrap();
    let decode = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-count_packets", "-show_entries"])
        .args([
            "stream=codec_name,channels,nb_read_packets",
            "-of",
            "csv=p=0",
        ])
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    let errors = String::from_utf8_lossy(&decode.stderr);
    assert!(
        decode.status.success() && errors.is_empty(),
        "ffmpeg said: {errors}"
    );
    assert_eq!(
        String::from_utf8_lossy(&probe.stdout).trim(),
        format!("opus,1,{count}")
    );
}
