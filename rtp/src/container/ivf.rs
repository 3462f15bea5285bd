//! IVF, the VP8/VP9/AV1 test container libvpx writes: a 32-octet file header, then each frame
//! as a 12-octet header and its bytes. All integers little-endian.
//!
//! ```text
//!   "DKIF" | version u16 | header size u16 (32) | fourcc | width u16 | height u16
//!          | timebase denominator u32 | numerator u32 | frame count u32 | unused u32
//!   frame: size u32 | timestamp u64 (in the timebase) | size octets
//! ```

use core::fmt;

/// Why IVF bytes could not be read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum IvfError {
    /// The file does not start with "DKIF" and a header of at least 32 octets.
    NotIvf,
    /// The input ends inside a header or a frame.
    Truncated,
    /// The output buffer cannot hold the header or frame.
    BufferTooSmall,
}

impl fmt::Display for IvfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IvfError::NotIvf => "not an IVF file",
            IvfError::Truncated => "IVF input ends inside a header or frame",
            IvfError::BufferTooSmall => "buffer too small for the IVF header or frame",
        })
    }
}

impl core::error::Error for IvfError {}

/// The file header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IvfHeader {
    /// The codec: `*b"VP80"`, `*b"VP90"`, `*b"AV01"`.
    pub fourcc: [u8; 4],
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Timestamps count units of `timebase_numerator / timebase_denominator` seconds.
    pub timebase_denominator: u32,
    /// See `timebase_denominator`.
    pub timebase_numerator: u32,
    /// Frames in the file, as the writer declared (often wrong in streamed files).
    pub frame_count: u32,
}

/// The file header's size.
pub const HEADER_LEN: usize = 32;
/// A frame header's size.
pub const FRAME_HEADER_LEN: usize = 12;

fn le16(b: &[u8], at: usize) -> Result<u16, IvfError> {
    let mut a = [0u8; 2];
    a.copy_from_slice(b.get(at..at + 2).ok_or(IvfError::Truncated)?);
    Ok(u16::from_le_bytes(a))
}

fn le32(b: &[u8], at: usize) -> Result<u32, IvfError> {
    let s = b.get(at..at + 4).ok_or(IvfError::Truncated)?;
    let mut a = [0u8; 4];
    a.copy_from_slice(s);
    Ok(u32::from_le_bytes(a))
}

impl IvfHeader {
    /// Writes the 32-octet header.
    ///
    /// # Errors
    ///
    /// [`IvfError::BufferTooSmall`] when `out` is shorter than [`HEADER_LEN`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, IvfError> {
        let room = out.get_mut(..HEADER_LEN).ok_or(IvfError::BufferTooSmall)?;
        let mut h = [0u8; HEADER_LEN];
        h[..4].copy_from_slice(b"DKIF");
        h[6..8].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
        h[8..12].copy_from_slice(&self.fourcc);
        h[12..14].copy_from_slice(&self.width.to_le_bytes());
        h[14..16].copy_from_slice(&self.height.to_le_bytes());
        h[16..20].copy_from_slice(&self.timebase_denominator.to_le_bytes());
        h[20..24].copy_from_slice(&self.timebase_numerator.to_le_bytes());
        h[24..28].copy_from_slice(&self.frame_count.to_le_bytes());
        room.copy_from_slice(&h);
        Ok(HEADER_LEN)
    }
}

/// One frame read from a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IvfFrame<'a> {
    /// The frame's timestamp in the file's timebase.
    pub timestamp: u64,
    /// The frame's bytes.
    pub data: &'a [u8],
}

/// Writes a frame's 12-octet header (the frame's bytes follow it).
///
/// # Errors
///
/// [`IvfError::BufferTooSmall`] when `out` is shorter than [`FRAME_HEADER_LEN`] or the frame
/// is larger than 4 GiB.
pub fn emit_frame_header(size: usize, timestamp: u64, out: &mut [u8]) -> Result<usize, IvfError> {
    let size = u32::try_from(size).map_err(|_| IvfError::BufferTooSmall)?;
    let room = out
        .get_mut(..FRAME_HEADER_LEN)
        .ok_or(IvfError::BufferTooSmall)?;
    let mut h = [0u8; FRAME_HEADER_LEN];
    h[..4].copy_from_slice(&size.to_le_bytes());
    h[4..].copy_from_slice(&timestamp.to_le_bytes());
    room.copy_from_slice(&h);
    Ok(FRAME_HEADER_LEN)
}

/// Reads an IVF file held in memory: the header, then the frames as an iterator.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IvfReader<'a> {
    rest: &'a [u8],
}

impl<'a> IvfReader<'a> {
    /// Reads the file header.
    ///
    /// # Errors
    ///
    /// [`IvfError::NotIvf`] without the signature or with a header shorter than 32 octets,
    /// [`IvfError::Truncated`] when the input ends inside the header.
    pub fn new(file: &'a [u8]) -> Result<(IvfHeader, IvfReader<'a>), IvfError> {
        if file.get(..4) != Some(b"DKIF") {
            return Err(IvfError::NotIvf);
        }
        let header_len = usize::from(le16(file, 6)?);
        if header_len < HEADER_LEN {
            return Err(IvfError::NotIvf);
        }
        let mut fourcc = [0u8; 4];
        fourcc.copy_from_slice(file.get(8..12).ok_or(IvfError::Truncated)?);
        let header = IvfHeader {
            fourcc,
            width: le16(file, 12)?,
            height: le16(file, 14)?,
            timebase_denominator: le32(file, 16)?,
            timebase_numerator: le32(file, 20)?,
            frame_count: le32(file, 24)?,
        };
        let rest = file.get(header_len..).ok_or(IvfError::Truncated)?;
        Ok((header, IvfReader { rest }))
    }
}

impl<'a> Iterator for IvfReader<'a> {
    type Item = Result<IvfFrame<'a>, IvfError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let frame = (|| {
            let size = le32(self.rest, 0)?;
            let timestamp = u64::from(le32(self.rest, 4)?) | u64::from(le32(self.rest, 8)?) << 32;
            // A size near 2^32 cannot be in the file; on a 32-bit target adding the header
            // to it would overflow.
            let end = usize::try_from(size)
                .ok()
                .and_then(|size| FRAME_HEADER_LEN.checked_add(size))
                .ok_or(IvfError::Truncated)?;
            let data = self
                .rest
                .get(FRAME_HEADER_LEN..end)
                .ok_or(IvfError::Truncated)?;
            self.rest = self.rest.get(end..).unwrap_or_default();
            Ok(IvfFrame { timestamp, data })
        })();
        if frame.is_err() {
            // One error, then the iterator ends: the rest cannot be framed.
            self.rest = &[];
        }
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_back() {
        let header = IvfHeader {
            fourcc: *b"VP80",
            width: 320,
            height: 240,
            timebase_denominator: 30,
            timebase_numerator: 1,
            frame_count: 2,
        };
        let mut file = [0u8; 32 + 12 + 3 + 12 + 1];
        header.emit(&mut file).unwrap();
        emit_frame_header(3, 0, &mut file[32..]).unwrap();
        file[44..47].copy_from_slice(&[1, 2, 3]);
        emit_frame_header(1, 1, &mut file[47..]).unwrap();
        file[59] = 9;
        let (back, frames) = IvfReader::new(&file).unwrap();
        assert_eq!(back, header);
        let frames: std::vec::Vec<_> = frames.map(Result::unwrap).collect();
        assert_eq!(
            frames,
            [
                IvfFrame {
                    timestamp: 0,
                    data: &[1, 2, 3]
                },
                IvfFrame {
                    timestamp: 1,
                    data: &[9]
                }
            ]
        );
        assert_eq!(
            IvfReader::new(&file[..59]).unwrap().1.last(),
            Some(Err(IvfError::Truncated))
        );
    }
}
