//! A payload format for receive-side tests: one flag byte (bit 0: starts a frame, bit 1:
//! keyframe) then media bytes. It follows the `Depacketizer` contract like the real formats
//! (a frame must start with a start payload), so the jitter buffer's grouping is what is tested,
//! and a frame's bytes say which packets made it.
#![allow(dead_code)]

use peerless_rtp::codec::{CodecError, Depacketizer, FrameBuf, FrameInfo, PayloadInfo};

pub(crate) const START: u8 = 1;
pub(crate) const KEY: u8 = 2;

#[derive(Debug, Default)]
pub(crate) struct Tagged {
    started: bool,
    keyframe: bool,
}

impl Depacketizer for Tagged {
    fn inspect(&self, payload: &[u8]) -> Result<PayloadInfo, CodecError> {
        let flags = *payload.first().ok_or(CodecError::Malformed)?;
        if flags & !(START | KEY) != 0 {
            return Err(CodecError::Malformed);
        }
        Ok(PayloadInfo {
            starts_frame: flags & START != 0,
            keyframe: flags & KEY != 0,
        })
    }

    fn push(&mut self, payload: &[u8], frame: &mut FrameBuf<'_>) -> Result<(), CodecError> {
        let info = self.inspect(payload)?;
        if info.starts_frame {
            if self.started {
                return Err(CodecError::Malformed);
            }
            self.started = true;
            self.keyframe = info.keyframe;
        } else if !self.started {
            return Err(CodecError::Malformed);
        }
        frame.extend(payload.get(1..).unwrap_or_default())
    }

    fn finish(&mut self, frame: &mut FrameBuf<'_>) -> Result<FrameInfo, CodecError> {
        let started = core::mem::take(&mut self.started);
        if !started {
            return Err(CodecError::Incomplete);
        }
        Ok(FrameInfo {
            len: frame.len(),
            keyframe: core::mem::take(&mut self.keyframe),
        })
    }

    fn reset(&mut self) {
        self.started = false;
        self.keyframe = false;
    }
}

/// One RTP packet of a test stream, owning its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pkt {
    pub(crate) sequence: u16,
    pub(crate) timestamp: u32,
    pub(crate) marker: bool,
    pub(crate) payload: Vec<u8>,
}

impl Pkt {
    pub(crate) fn as_media(&self) -> peerless_rtp::receive::MediaPacket<'_> {
        peerless_rtp::receive::MediaPacket {
            sequence: self.sequence,
            timestamp: self.timestamp,
            marker: self.marker,
            payload: &self.payload,
        }
    }
}

/// A video stream: `frames` frames of `packets_per_frame(i)` packets each, frame `i`'s media
/// bytes all equal to `i as u8`, a keyframe every `gop` frames (the first is one).
pub(crate) fn video_stream(
    first_sequence: u16,
    first_timestamp: u32,
    frames: usize,
    gop: usize,
    packets_per_frame: impl Fn(usize) -> usize,
) -> Vec<Pkt> {
    let mut out = Vec::new();
    let mut sequence = first_sequence;
    for i in 0..frames {
        let n = packets_per_frame(i).max(1);
        let timestamp = first_timestamp.wrapping_add(3000 * i as u32);
        for k in 0..n {
            let mut flags = 0;
            if k == 0 {
                flags |= START;
                if i % gop == 0 {
                    flags |= KEY;
                }
            }
            out.push(Pkt {
                sequence,
                timestamp,
                marker: k + 1 == n,
                payload: vec![flags, i as u8, k as u8],
            });
            sequence = sequence.wrapping_add(1);
        }
    }
    out
}
