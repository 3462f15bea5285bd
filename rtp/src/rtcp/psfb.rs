//! Payload-specific feedback (PSFB, packet type 206): picture loss indication (its view is
//! the two SSRCs, [`FeedbackSsrcs`](super::FeedbackSsrcs)), full intra request (RFC 5104
//! §4.3.1) and REMB (draft-alvestrand-rmcat-remb-03, application layer feedback).

use peerless_base::Reader;

use super::compound::u32_at;
use super::feedback::Feedback;

/// One FIR entry (RFC 5104 §4.3.1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FirEntry {
    /// The media sender asked for a decoder refresh.
    pub ssrc: u32,
    /// The command sequence number.
    pub sequence: u8,
}

/// Full intra request (RFC 5104 §4.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Fir<'a>(pub(super) Feedback<'a>);

impl<'a> Fir<'a> {
    /// The SSRC of the request's sender.
    #[must_use]
    pub fn sender_ssrc(&self) -> u32 {
        self.0.sender
    }

    /// The requests.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = FirEntry> + 'a {
        self.0.fci.chunks_exact(8).map(|c| FirEntry {
            ssrc: u32_at(c, 0),
            sequence: c.get(4).copied().unwrap_or_default(),
        })
    }
}

/// Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb-03).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Remb<'a> {
    sender: u32,
    bitrate: u64,
    ssrcs: &'a [u8],
}

impl<'a> Remb<'a> {
    pub(super) fn parse(fb: Feedback<'a>) -> Option<Self> {
        let mut r = Reader::new(fb.fci);
        if r.take(4).ok()? != b"REMB" {
            return None;
        }
        let count = usize::from(r.u8().ok()?);
        let exp_mantissa = r.u24().ok()?;
        let exp = exp_mantissa >> 18;
        let mantissa = u64::from(exp_mantissa & 0x3_ffff);
        // An exponent that pushes mantissa bits past 64 saturates instead of wrapping.
        let bitrate = if mantissa.leading_zeros() < exp {
            u64::MAX
        } else {
            mantissa << exp
        };
        let ssrcs = r.take(4 * count).ok()?;
        Some(Remb {
            sender: fb.sender,
            bitrate,
            ssrcs,
        })
    }

    /// The SSRC of the estimate's sender.
    #[must_use]
    pub fn sender_ssrc(&self) -> u32 {
        self.sender
    }

    /// The estimated maximum bitrate, in bits per second.
    #[must_use]
    pub fn bitrate(&self) -> u64 {
        self.bitrate
    }

    /// The media sources the estimate applies to.
    pub fn ssrcs(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        self.ssrcs.chunks_exact(4).map(|c| u32_at(c, 0))
    }
}
