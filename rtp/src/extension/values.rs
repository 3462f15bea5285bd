//! The value of each extension and its element bytes.
//!
//! ```text
//!   mid / rid / repaired-rid   | 1-255 printable ASCII bytes (the SDES item's text)      |
//!   abs-send-time              | seconds, 6.18 fixed point (24 bits)                      |
//!   transport-wide seq. no.    | 16 bits                                                  |
//!   audio level (RFC 6464)     |V| level, -dBov (7 bits) |
//!   video orientation (CVO)    |0 0 0 0|C|F|R1 R0|  C back camera, F flip, R rotation     |
//!   playout delay              | min (12 bits) | max (12 bits) |  in 10 ms               |
//!   abs-capture-time           | NTP Q32.32 capture time (64) [| clock offset Q32.32 (64)]|
//! ```

use peerless_base::{Reader, Writer};

use super::{Extension, ExtensionError, ExtensionKind};

/// Writes `data` into `out` with the writer, reporting a short buffer as [`ExtensionError::Full`].
fn emit_with(out: &mut [u8], write: impl FnOnce(&mut Writer<'_>)) -> Result<usize, ExtensionError> {
    let mut w = Writer::new(out);
    write(&mut w);
    w.finish().map_err(|_| ExtensionError::Full)
}

/// Reads a fixed-size element whose data must be exactly `N` bytes.
fn exact<const N: usize>(data: &[u8]) -> Result<[u8; N], ExtensionError> {
    <[u8; N]>::try_from(data).map_err(|_| ExtensionError::Malformed)
}

/// Checks the text of an SDES-item extension (mid, rid, repaired-rid) and gives it as `str`.
///
/// Zero bytes at the end are padding some senders leave inside the element, not text. The
/// rest must be 1-255 bytes of printable ASCII (mid tokens, RFC 5888; rid characters,
/// RFC 8851 are all within it), so the value is always safe to print and compare.
fn sdes_text(data: &[u8]) -> Result<&str, ExtensionError> {
    let end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let text = data.get(..end).unwrap_or_default();
    if text.is_empty() || !text.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(ExtensionError::Malformed);
    }
    core::str::from_utf8(text).map_err(|_| ExtensionError::Malformed)
}

fn emit_sdes_text(text: &str, out: &mut [u8]) -> Result<usize, ExtensionError> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() > 255 || !bytes.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(ExtensionError::InvalidValue);
    }
    emit_with(out, |w| w.bytes(bytes))
}

macro_rules! sdes_extension {
    ($(#[$doc:meta])* $name:ident, $kind:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub struct $name<'a>(pub &'a str);

        impl<'a> Extension<'a> for $name<'a> {
            const KIND: ExtensionKind = ExtensionKind::$kind;

            fn parse(data: &'a [u8]) -> Result<Self, ExtensionError> {
                sdes_text(data).map($name)
            }

            fn emit(&self, out: &mut [u8]) -> Result<usize, ExtensionError> {
                emit_sdes_text(self.0, out)
            }
        }
    };
}

sdes_extension!(
    /// The media identification (RFC 8843 §15): which `m=` section of a BUNDLE group the
    /// packet belongs to.
    Mid,
    Mid
);
sdes_extension!(
    /// The RTP stream id (RFC 8852 §3.1): which simulcast or layered encoding this is.
    Rid,
    Rid
);
sdes_extension!(
    /// The repaired RTP stream id (RFC 8852 §3.2): the `rid` an RTX or FEC stream repairs.
    RepairedRid,
    RepairedRid
);

/// The absolute send time: when the packet left, in seconds as 6.18 fixed point, wrapping
/// every 64 s. REMB estimates read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AbsSendTime(pub u32);

impl AbsSendTime {
    /// Microseconds in the 64-second wrap of the field.
    const WRAP_MICROS: u64 = 64_000_000;

    /// The send time of `micros` (any origin), truncated to the field's 1/2^18 s.
    #[must_use]
    pub const fn from_micros(micros: u64) -> Self {
        AbsSendTime((((micros % Self::WRAP_MICROS) << 18) / 1_000_000) as u32)
    }

    /// The time within the 64-second wrap, in microseconds (rounded down).
    #[must_use]
    pub const fn as_micros(self) -> u64 {
        ((self.0 & 0x00ff_ffff) as u64 * 1_000_000) >> 18
    }
}

impl Extension<'_> for AbsSendTime {
    const KIND: ExtensionKind = ExtensionKind::AbsSendTime;

    fn parse(data: &[u8]) -> Result<Self, ExtensionError> {
        let [a, b, c] = exact::<3>(data)?;
        Ok(AbsSendTime(u32::from_be_bytes([0, a, b, c])))
    }

    fn emit(&self, out: &mut [u8]) -> Result<usize, ExtensionError> {
        if self.0 > 0x00ff_ffff {
            return Err(ExtensionError::InvalidValue);
        }
        emit_with(out, |w| w.u24(self.0))
    }
}

/// The transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01
/// §2): one counter across every stream of the transport, which transport-cc feedback
/// reports arrival times for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TransportSequenceNumber(pub u16);

impl Extension<'_> for TransportSequenceNumber {
    const KIND: ExtensionKind = ExtensionKind::TransportSequenceNumber;

    fn parse(data: &[u8]) -> Result<Self, ExtensionError> {
        exact::<2>(data).map(|b| TransportSequenceNumber(u16::from_be_bytes(b)))
    }

    fn emit(&self, out: &mut [u8]) -> Result<usize, ExtensionError> {
        emit_with(out, |w| w.u16(self.0))
    }
}

/// The client-to-mixer audio level (RFC 6464 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AudioLevel {
    /// The V flag: the sender's voice activity detection heard speech (only meaningful when
    /// `vad=on` was negotiated).
    pub voice_activity: bool,
    /// The level in -dBov, 0 (loudest) to 127 (silence or quieter).
    pub level: u8,
}

impl Extension<'_> for AudioLevel {
    const KIND: ExtensionKind = ExtensionKind::AudioLevel;

    fn parse(data: &[u8]) -> Result<Self, ExtensionError> {
        let [b] = exact::<1>(data)?;
        Ok(AudioLevel {
            voice_activity: b & 0x80 != 0,
            level: b & 0x7f,
        })
    }

    fn emit(&self, out: &mut [u8]) -> Result<usize, ExtensionError> {
        if self.level > 127 {
            return Err(ExtensionError::InvalidValue);
        }
        emit_with(out, |w| {
            w.u8(u8::from(self.voice_activity) << 7 | self.level)
        })
    }
}

/// The rotation of a coordination-of-video-orientation element: how far the receiver turns
/// the picture (clockwise) before showing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Rotation {
    /// None.
    #[default]
    Deg0,
    /// A quarter turn.
    Deg90,
    /// A half turn.
    Deg180,
    /// Three quarters.
    Deg270,
}

/// Coordination of video orientation (3GPP TS 26.114 §7.4.5, the 2-bit granularity form).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VideoOrientation {
    /// C: the back-facing camera (false: front-facing or unknown).
    pub back_camera: bool,
    /// F: the picture is mirrored horizontally.
    pub flip: bool,
    /// R1 R0: the rotation.
    pub rotation: Rotation,
}

impl Extension<'_> for VideoOrientation {
    const KIND: ExtensionKind = ExtensionKind::VideoOrientation;

    /// The four high bits are reserved in this form and ignored.
    fn parse(data: &[u8]) -> Result<Self, ExtensionError> {
        let [b] = exact::<1>(data)?;
        Ok(VideoOrientation {
            back_camera: b & 0x08 != 0,
            flip: b & 0x04 != 0,
            rotation: match b & 0x03 {
                0 => Rotation::Deg0,
                1 => Rotation::Deg90,
                2 => Rotation::Deg180,
                _ => Rotation::Deg270,
            },
        })
    }

    fn emit(&self, out: &mut [u8]) -> Result<usize, ExtensionError> {
        let rotation = match self.rotation {
            Rotation::Deg0 => 0,
            Rotation::Deg90 => 1,
            Rotation::Deg180 => 2,
            Rotation::Deg270 => 3,
        };
        emit_with(out, |w| {
            w.u8(u8::from(self.back_camera) << 3 | u8::from(self.flip) << 2 | rotation);
        })
    }
}

/// The playout delay limits the sender asks the receiver's jitter buffer to keep, in units
/// of 10 ms (12 bits each: up to 40.95 s). `min <= max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PlayoutDelay {
    /// The smallest delay, in 10 ms units.
    pub min: u16,
    /// The largest delay, in 10 ms units.
    pub max: u16,
}

impl PlayoutDelay {
    /// The largest value either field holds.
    pub const MAX: u16 = 0x0fff;

    /// The smallest delay in milliseconds.
    #[must_use]
    pub const fn min_ms(&self) -> u32 {
        self.min as u32 * 10
    }

    /// The largest delay in milliseconds.
    #[must_use]
    pub const fn max_ms(&self) -> u32 {
        self.max as u32 * 10
    }
}

impl Extension<'_> for PlayoutDelay {
    const KIND: ExtensionKind = ExtensionKind::PlayoutDelay;

    /// A minimum above the maximum is malformed (no buffer could keep both).
    fn parse(data: &[u8]) -> Result<Self, ExtensionError> {
        let [a, b, c] = exact::<3>(data)?;
        let raw = u32::from_be_bytes([0, a, b, c]);
        let (min, max) = ((raw >> 12) as u16, (raw & 0x0fff) as u16);
        if min > max {
            return Err(ExtensionError::Malformed);
        }
        Ok(PlayoutDelay { min, max })
    }

    fn emit(&self, out: &mut [u8]) -> Result<usize, ExtensionError> {
        if self.max > Self::MAX || self.min > self.max {
            return Err(ExtensionError::InvalidValue);
        }
        emit_with(out, |w| {
            w.u24(u32::from(self.min) << 12 | u32::from(self.max))
        })
    }
}

/// The absolute capture time: when the first sample of the frame was captured, on the
/// capturer's NTP clock, and optionally that clock's estimated offset from the sender's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AbsCaptureTime {
    /// NTP time, Q32.32 (seconds since 1900 in the high 32 bits).
    pub timestamp: u64,
    /// The capturer's clock minus the sender's, Q32.32 signed seconds (16-byte form).
    pub estimated_capture_clock_offset: Option<i64>,
}

impl Extension<'_> for AbsCaptureTime {
    const KIND: ExtensionKind = ExtensionKind::AbsCaptureTime;

    fn parse(data: &[u8]) -> Result<Self, ExtensionError> {
        let mut r = Reader::new(data);
        let timestamp = r.u64().map_err(|_| ExtensionError::Malformed)?;
        let estimated_capture_clock_offset = match r.remaining() {
            0 => None,
            8 => Some(r.u64().map_err(|_| ExtensionError::Malformed)? as i64),
            _ => return Err(ExtensionError::Malformed),
        };
        Ok(AbsCaptureTime {
            timestamp,
            estimated_capture_clock_offset,
        })
    }

    fn emit(&self, out: &mut [u8]) -> Result<usize, ExtensionError> {
        emit_with(out, |w| {
            w.u64(self.timestamp);
            if let Some(offset) = self.estimated_capture_clock_offset {
                w.u64(offset as u64);
            }
        })
    }
}
