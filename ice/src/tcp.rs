//! RFC 4571 framing for ICE over TCP (RFC 6544 §3): every STUN, DTLS and SRTP datagram on a
//! TCP connection is preceded by its length in two bytes, big-endian.
//!
//! ```text
//!  host: TcpStream::read --bytes--> FrameReader::next(&mut input) --one datagram--> Agent/Peer
//!          [len hi][len lo][ len bytes of datagram ][len hi][len lo][ ... ]
//!          a frame split across reads waits in the reader's fixed buffer;
//!          a frame longer than the buffer is skipped (counted), the stream stays in step
//!  host: Transmit from the passive candidate --frame_header(len) ++ payload--> TcpStream::write
//! ```
//!
//! TURN over TCP (RFC 8656 §3.1, `peerless_stun::stream_frame_len`) needs no such prefix: its
//! messages carry their own lengths. Here the prefix is the only delimiter, so one reader per
//! connection keeps the partial frame; it holds at most one frame, the rest of the input stays
//! with the caller.

/// A datagram is longer than RFC 4571's 16-bit length can say (65 535 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FrameTooLong;

impl core::fmt::Display for FrameTooLong {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("datagram longer than 65535 bytes cannot be framed (RFC 4571)")
    }
}

impl core::error::Error for FrameTooLong {}

/// The two bytes to write before a datagram of `len` bytes on an ICE-TCP connection.
pub fn frame_header(len: usize) -> Result<[u8; 2], FrameTooLong> {
    u16::try_from(len)
        .map(u16::to_be_bytes)
        .map_err(|_| FrameTooLong)
}

/// Splits the byte stream of one ICE-TCP connection into datagrams (RFC 4571), holding a
/// partial frame in a fixed `N`-byte buffer (the default fits any datagram the Peer sends or a
/// browser's 1200-byte-MTU datagrams with room to spare). A frame longer than `N` is skipped
/// and counted in [`FrameReader::dropped_too_long`]: the length prefix still says where the
/// next frame starts, so the stream stays usable.
#[derive(Clone, Debug)]
pub struct FrameReader<const N: usize = 2048> {
    buf: [u8; N],
    /// Bytes of the current frame held (prefix included).
    held: usize,
    /// The previous call returned a whole frame: forget it on the next call.
    consumed: bool,
    /// Bytes of an oversized frame still to be thrown away.
    skip: usize,
    dropped: u64,
}

/// Its counters, never the bytes it holds.
#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for FrameReader<N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "FrameReader {{ pending: {=usize}, dropped_too_long: {=u64} }}",
            self.pending(),
            self.dropped
        );
    }
}

impl<const N: usize> Default for FrameReader<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameReader<N> {
    /// An empty reader (a new connection).
    #[must_use]
    pub const fn new() -> Self {
        FrameReader {
            buf: [0; N],
            held: 0,
            consumed: false,
            skip: 0,
            dropped: 0,
        }
    }

    /// Frames skipped because they did not fit the buffer.
    #[must_use]
    pub fn dropped_too_long(&self) -> u64 {
        self.dropped
    }

    /// Bytes of an incomplete frame held (0 at a frame boundary).
    #[must_use]
    pub fn pending(&self) -> usize {
        if self.consumed { 0 } else { self.held }
    }

    /// The next whole datagram, taking from the front of `input` only the bytes it needs;
    /// `None` once `input` is used up in the middle of a frame (call again with the next read).
    /// Loop until `None` after every read: what stays in `input` belongs to later frames.
    pub fn next<'a>(&'a mut self, input: &mut &[u8]) -> Option<&'a [u8]> {
        if self.consumed {
            self.held = 0;
            self.consumed = false;
        }
        loop {
            if self.skip > 0 {
                let n = self.skip.min(input.len());
                self.skip -= n;
                *input = input.get(n..).unwrap_or_default();
                if self.skip > 0 {
                    return None;
                }
            }
            // The prefix first, then as many bytes as it announces.
            let want = match self.buf.get(..2) {
                Some(&[hi, lo]) if self.held >= 2 => 2 + usize::from(u16::from_be_bytes([hi, lo])),
                _ => 2,
            };
            if want > N {
                // Too long for the buffer: throw away what it announces, keep the stream.
                self.dropped = self.dropped.saturating_add(1);
                self.skip = want - self.held;
                self.held = 0;
                continue;
            }
            let take = want.saturating_sub(self.held).min(input.len());
            let (head, rest) = input.split_at(take);
            self.buf
                .get_mut(self.held..self.held + take)?
                .copy_from_slice(head);
            self.held += take;
            *input = rest;
            if self.held < want {
                return None;
            }
            if want > 2 {
                self.consumed = true;
                return self.buf.get(2..want);
            }
            if self.held == 2 && want == 2 && self.buf.get(..2) == Some(&[0, 0]) {
                // A zero-length frame carries nothing: skip it.
                self.held = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn framed(datagrams: &[&[u8]]) -> Vec<u8> {
        let mut s = Vec::new();
        for d in datagrams {
            s.extend_from_slice(&frame_header(d.len()).unwrap());
            s.extend_from_slice(d);
        }
        s
    }

    fn read_all<const N: usize>(r: &mut FrameReader<N>, stream: &[u8], seg: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for chunk in stream.chunks(seg) {
            let mut input = chunk;
            while let Some(d) = r.next(&mut input) {
                out.push(d.to_vec());
            }
            assert!(input.is_empty());
        }
        out
    }

    #[test]
    fn header_is_big_endian_length() {
        assert_eq!(frame_header(0x0123), Ok([0x01, 0x23]));
        assert_eq!(frame_header(65_535), Ok([0xff, 0xff]));
        assert_eq!(frame_header(65_536), Err(FrameTooLong));
    }

    #[test]
    fn frames_survive_any_segmentation() {
        let a = [1u8; 20];
        let b = [2u8; 300];
        let c = [3u8; 1];
        let stream = framed(&[&a, &b, &[], &c]);
        for seg in 1..=stream.len() {
            let mut r = FrameReader::<512>::new();
            let got = read_all(&mut r, &stream, seg);
            assert_eq!(
                got,
                [a.to_vec(), b.to_vec(), c.to_vec()],
                "segments of {seg}"
            );
            assert_eq!(r.pending(), 0);
        }
    }

    #[test]
    fn an_oversized_frame_is_skipped_and_counted() {
        let big = [9u8; 100];
        let small = [7u8; 10];
        let stream = framed(&[&small, &big, &small]);
        for seg in [1, 3, 7, stream.len()] {
            let mut r = FrameReader::<64>::new();
            let got = read_all(&mut r, &stream, seg);
            assert_eq!(got, [small.to_vec(), small.to_vec()]);
            assert_eq!(r.dropped_too_long(), 1);
        }
    }

    #[test]
    fn a_partial_frame_waits_for_more() {
        let stream = framed(&[&[5u8; 8]]);
        let mut r = FrameReader::<64>::new();
        let mut input = &stream[..5];
        assert_eq!(r.next(&mut input), None);
        assert_eq!(r.pending(), 5);
        let mut input = &stream[5..];
        assert_eq!(r.next(&mut input), Some(&[5u8; 8][..]));
    }
}
