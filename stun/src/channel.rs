//! TURN ChannelData framing (RFC 8656 §12.4).
//!
//! ```text
//!   0                   1                   2                   3
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |   Channel Number 0x4000..0x4FFF |            Length             |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                 Application Data (Length bytes) [padding]  ...
//! ```
//!
//! The first byte (64..=79) is what RFC 7983 demultiplexes on.

use peerless_base::{BufferTooSmall, Reader, Writer};

use crate::attr::padded;

/// The lowest channel number a client may bind.
pub const CHANNEL_MIN: u16 = 0x4000;
/// The highest channel number a client may bind.
pub const CHANNEL_MAX: u16 = 0x4FFF;

/// Why bytes are not a ChannelData message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ChannelDataError {
    /// Shorter than the header or than its length says.
    Truncated,
    /// The channel number is outside 0x4000..=0x4FFF.
    BadChannel,
    /// More bytes follow than the length and its padding explain.
    TrailingBytes,
}

impl core::fmt::Display for ChannelDataError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ChannelDataError::Truncated => "ChannelData truncated",
            ChannelDataError::BadChannel => "ChannelData channel number outside 0x4000..=0x4FFF",
            ChannelDataError::TrailingBytes => "bytes after the ChannelData message",
        })
    }
}

impl core::error::Error for ChannelDataError {}

/// A ChannelData message: a checked view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChannelData<'a> {
    /// The channel number.
    pub channel: u16,
    /// The application data.
    pub data: &'a [u8],
}

impl<'a> ChannelData<'a> {
    /// Checks one datagram (padding to four bytes is optional over UDP and accepted).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ChannelDataError> {
        let mut r = Reader::new(bytes);
        let channel = r.u16().map_err(|_| ChannelDataError::Truncated)?;
        let len = usize::from(r.u16().map_err(|_| ChannelDataError::Truncated)?);
        if !(CHANNEL_MIN..=CHANNEL_MAX).contains(&channel) {
            return Err(ChannelDataError::BadChannel);
        }
        let data = r.take(len).map_err(|_| ChannelDataError::Truncated)?;
        if r.remaining() > padded(len) - len {
            return Err(ChannelDataError::TrailingBytes);
        }
        Ok(ChannelData { channel, data })
    }

    /// Writes the message, padded to four bytes when `pad` (required over TCP), and returns its
    /// length.
    pub fn emit(&self, pad: bool, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut w = Writer::new(buf);
        w.u16(self.channel);
        w.u16(u16::try_from(self.data.len()).unwrap_or(u16::MAX));
        w.bytes(self.data);
        if pad {
            w.fill(0, padded(self.data.len()) - self.data.len());
        }
        w.finish()
    }
}

/// The length of the first message on a TURN byte stream (TCP or TLS to the server, RFC 8656
/// §12.5): a STUN message (20-byte header plus its length) or a ChannelData message (4-byte
/// header plus its length padded to four). `Ok(None)`: fewer than the 4 bytes that tell;
/// `Err`: the first byte starts neither (the stream is broken: close it).
pub fn stream_frame_len(stream: &[u8]) -> Result<Option<usize>, ChannelDataError> {
    let Some(&[first, _, hi, lo]) = stream.first_chunk::<4>() else {
        return Ok(None);
    };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    match first >> 6 {
        0 => Ok(Some(20 + len)),
        1 if (0x40..=0x4f).contains(&first) => Ok(Some(4 + padded(len))),
        _ => Err(ChannelDataError::BadChannel),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_frames_are_delimited() {
        assert_eq!(stream_frame_len(b"\x00\x01\x00"), Ok(None));
        // A Binding request with 8 bytes of attributes.
        assert_eq!(stream_frame_len(b"\x00\x01\x00\x08"), Ok(Some(28)));
        // ChannelData: 5 bytes of data pad to 8.
        assert_eq!(stream_frame_len(b"\x40\x01\x00\x05hello"), Ok(Some(12)));
        assert_eq!(stream_frame_len(b"\x40\x01\x00\x08"), Ok(Some(12)));
        assert_eq!(
            stream_frame_len(b"\x80\x00\x00\x00"),
            Err(ChannelDataError::BadChannel)
        );
        assert_eq!(
            stream_frame_len(b"\x50\x00\x00\x00"),
            Err(ChannelDataError::BadChannel)
        );
    }

    #[test]
    fn round_trips_with_and_without_padding() {
        let mut buf = [0u8; 16];
        let cd = ChannelData {
            channel: 0x4001,
            data: b"hello",
        };
        let n = cd.emit(false, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"\x40\x01\x00\x05hello");
        assert_eq!(ChannelData::parse(&buf[..n]), Ok(cd));
        let n = cd.emit(true, &mut buf).unwrap();
        assert_eq!(n, 12);
        assert_eq!(ChannelData::parse(&buf[..n]), Ok(cd));
        assert_eq!(
            ChannelData::parse(&buf[..n + 1]),
            Err(ChannelDataError::TrailingBytes)
        );
        assert_eq!(
            ChannelData::parse(&buf[..8]),
            Err(ChannelDataError::Truncated)
        );
        assert_eq!(
            ChannelData::parse(b"\x50\x00\x00\x00"),
            Err(ChannelDataError::BadChannel)
        );
        assert_eq!(
            cd.emit(false, &mut buf[..4]),
            Err(BufferTooSmall { needed: 9 })
        );
    }
}
