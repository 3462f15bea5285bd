//! RFC 4571 framing on an ICE-TCP connection (`peerless_ice::FrameReader`): any datagrams
//! framed and cut into any segments come back whole and in order; arbitrary bytes never panic
//! the reader, and a frame longer than its buffer is skipped without losing the next one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use peerless_ice::{FrameReader, frame_header};
use proptest::prelude::*;

fn read_all<const N: usize>(r: &mut FrameReader<N>, stream: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = stream;
    let mut cuts = cuts.iter().cycle();
    while !rest.is_empty() {
        let n = (*cuts.next().unwrap()).clamp(1, rest.len());
        let (mut seg, tail) = rest.split_at(n);
        rest = tail;
        while let Some(d) = r.next(&mut seg) {
            out.push(d.to_vec());
        }
        assert!(
            seg.is_empty(),
            "the reader leaves no input behind once it says None"
        );
    }
    out
}

proptest! {
    #[test]
    fn framed_datagrams_survive_any_segmentation(
        datagrams in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..300), 0..20),
        cuts in prop::collection::vec(1usize..64, 1..10),
    ) {
        let mut stream = Vec::new();
        for d in &datagrams {
            stream.extend_from_slice(&frame_header(d.len()).unwrap());
            stream.extend_from_slice(d);
        }
        let mut r = FrameReader::<302>::new();
        prop_assert_eq!(read_all(&mut r, &stream, &cuts), datagrams);
        prop_assert_eq!(r.pending(), 0);
        prop_assert_eq!(r.dropped_too_long(), 0);
    }

    #[test]
    fn oversized_frames_are_skipped_and_the_rest_kept(
        sizes in prop::collection::vec(1usize..200, 1..20),
        cuts in prop::collection::vec(1usize..64, 1..10),
    ) {
        let mut stream = Vec::new();
        for (i, n) in sizes.iter().enumerate() {
            stream.extend_from_slice(&frame_header(*n).unwrap());
            stream.extend(std::iter::repeat_n(i as u8, *n));
        }
        let mut r = FrameReader::<102>::new();
        let got = read_all(&mut r, &stream, &cuts);
        let kept: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .filter(|(_, n)| **n <= 100)
            .map(|(i, n)| vec![i as u8; *n])
            .collect();
        prop_assert_eq!(got, kept);
        prop_assert_eq!(r.dropped_too_long(), sizes.iter().filter(|n| **n > 100).count() as u64);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..2000),
        cuts in prop::collection::vec(1usize..300, 1..10),
    ) {
        let mut r = FrameReader::<64>::new();
        for d in read_all(&mut r, &bytes, &cuts) {
            prop_assert!(!d.is_empty() && d.len() <= 62);
        }
    }
}
