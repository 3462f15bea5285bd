//! The command-line peer's bitrate ladder (examples/host/media.rs, `--video-ladder`) on the
//! committed three-rendition clip (tests/media/ladder-*.vp8.ivf, made by tests/media/make.sh:
//! 60 frames each, keyframes on frames 0 and 30): renditions sorted by their bitrate as the
//! file's frames give it, a switch only where every rendition has a keyframe, to the highest
//! rendition under the budget (the lowest when none fits), RTP time running on across
//! switches and loops, and files that do not make one ladder refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../examples/host/media.rs"]
mod media;

use std::path::PathBuf;

use media::{VideoLadder, VideoSource};
use peerless::rtp::container::ivf::IvfReader;

fn clip(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/media")
        .join(name)
}

/// The renditions, deliberately not in bitrate order.
const FILES: [&str; 3] = [
    "ladder-240k.vp8.ivf",
    "ladder-60k.vp8.ivf",
    "ladder-120k.vp8.ivf",
];

/// A file's bitrate counted here from its IVF frames: octets × 8 over 2 s (60 frames at 30 fps).
fn bitrate_of(name: &str) -> u64 {
    let data = std::fs::read(clip(name)).unwrap();
    let (_, frames) = IvfReader::new(&data).unwrap();
    let octets: usize = frames.map(|f| f.unwrap().data.len()).sum();
    octets as u64 * 8 / 2
}

/// Frame `index` of one file, as its own source hands it out.
fn frame_of(name: &str, index: usize) -> Vec<u8> {
    let mut s = VideoSource::open(clip(name)).unwrap();
    for _ in 0..index {
        s.next_frame();
    }
    s.next_frame().1.to_vec()
}

#[test]
fn renditions_are_sorted_by_the_bitrate_of_their_frames() {
    let ladder = VideoLadder::open(&FILES.map(clip)).unwrap();
    let want = [
        bitrate_of("ladder-60k.vp8.ivf"),
        bitrate_of("ladder-120k.vp8.ivf"),
        bitrate_of("ladder-240k.vp8.ivf"),
    ];
    println!("ladder renditions: {want:?} bit/s");
    assert_eq!(ladder.bitrates(), want);
    assert!(want[0] < want[1] && want[1] < want[2]);
    assert_eq!(ladder.codec(), "VP8");
    assert_eq!(ladder.frames(), 60);
}

#[test]
fn switches_at_keyframes_to_the_highest_rendition_that_fits() {
    let mut ladder = VideoLadder::open(&FILES.map(clip)).unwrap();
    let rates = ladder.bitrates();
    let names = [
        "ladder-60k.vp8.ivf",
        "ladder-120k.vp8.ivf",
        "ladder-240k.vp8.ivf",
    ];
    // (frame number from the start, budget set before it, the rendition it must come from)
    let mut expect = Vec::new();
    for n in 0..120usize {
        let budget = match n {
            // No budget: the lowest. A budget between rung 1 and 2 set mid-GOP waits for frame
            // 30; everything fits at 45 but waits for the loop's frame 0 (60); nothing fits
            // from 75, taken at 90.
            0..10 => 0,
            10..45 => (rates[1] + rates[2]) / 2,
            45..75 => 10_000_000,
            _ => 1,
        };
        ladder.set_budget(budget);
        let rung = match n {
            0..30 => 0,
            30..60 => 1,
            60..90 => 2,
            _ => 0,
        };
        let (time, frame) = ladder.next_frame();
        let frame = frame.to_vec();
        // Every frame but 100 to 109 goes out (those are counted for no rendition).
        if !(100..110).contains(&n) {
            ladder.frame_sent();
        }
        assert_eq!(time, n as u32 * 3000, "RTP time runs on at frame {n}");
        assert_eq!(
            ladder.is_keyframe(),
            n % 30 == 0,
            "keyframe flag at frame {n}"
        );
        assert_eq!(ladder.current_bps(), rates[rung], "rendition at frame {n}");
        expect.push((n, rung, frame));
    }
    for (n, rung, frame) in [0, 29, 30, 59, 60, 89, 90, 119].map(|n| {
        let (_, rung, frame) = &expect[n];
        (n, *rung, frame.clone())
    }) {
        assert_eq!(
            frame,
            frame_of(names[rung], n % 60),
            "frame {n} is rendition {rung}'s"
        );
    }
    assert_eq!(ladder.switches(), 3);
    assert_eq!(ladder.frames_sent(), &[50, 30, 30]);
}

#[test]
fn files_that_are_not_one_ladder_are_refused() {
    // Another codec.
    let mixed = [clip("ladder-60k.vp8.ivf"), clip("clip.vp9.ivf")];
    let e = VideoLadder::open(&mixed)
        .err()
        .expect("VP8 with VP9 refused");
    println!("refused: {e}");
    assert!(e.to_string().contains("differ"), "{e}");
    // No file at all.
    let none: [PathBuf; 0] = [];
    assert!(VideoLadder::open(&none).is_err());
    // A missing file names itself.
    let e = VideoLadder::open(&[clip("nope.ivf")]).err().unwrap();
    assert!(e.to_string().contains("nope.ivf"), "{e}");
}
