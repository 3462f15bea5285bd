//! `container::access_units` against GStreamer's h264parse and h265parse: the access units they
//! cut from libx264's and libx265's streams (tests/data/h26*_gst_au.bin, see the README there),
//! joined back into one Annex-B stream, must come out of our splitter unit for unit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use peerless_rtp::container::access_units::{AccessUnits, NalCodec};

fn read(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Records behind a big-endian u32 length.
fn records(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        out.push(&rest[4..4 + len]);
        rest = &rest[4 + len..];
    }
    out
}

fn splits_like_gstreamer(name: &str, codec: NalCodec, keyframes: &[usize]) {
    let file = read(name);
    let theirs = records(&file);
    assert_eq!(theirs.len(), 10);
    let stream = theirs.concat();
    let ours: Vec<_> = AccessUnits::new(&stream, codec).unwrap().collect();
    assert_eq!(ours.len(), theirs.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a.data, *b, "access unit {i}");
    }
    let key: Vec<usize> = (0..ours.len()).filter(|&i| ours[i].keyframe).collect();
    assert_eq!(key, keyframes);
}

#[test]
fn h264_like_h264parse() {
    // libx264 -g 5: IDR pictures at 0 and 5.
    splits_like_gstreamer("h264_gst_au.bin", NalCodec::H264, &[0, 5]);
}

#[test]
fn h265_like_h265parse() {
    // libx265 keyint=5: an IDR first, then CRA pictures (also IRAP) every 5.
    splits_like_gstreamer("h265_gst_au.bin", NalCodec::H265, &[0, 5]);
}
