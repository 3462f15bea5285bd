//! The common part of every feedback message (RFC 4585 §6.1): sender SSRC, media SSRC and
//! the feedback control information that RTPFB and PSFB formats read.

use super::compound::u32_at;
use crate::WireError;

/// The sender and media SSRCs of a feedback message (RFC 4585 §6.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FeedbackSsrcs {
    /// The SSRC of the feedback's sender.
    pub sender: u32,
    /// The SSRC of the media source the feedback is about (0 where unused, as in FIR/REMB).
    pub media: u32,
}

/// The common part of RTPFB/PSFB messages: two SSRCs and the feedback control information.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct Feedback<'a> {
    pub(super) sender: u32,
    pub(super) media: u32,
    pub(super) fci: &'a [u8],
}

impl<'a> Feedback<'a> {
    pub(super) fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let fci = body.get(8..).ok_or(WireError::Malformed)?;
        Ok(Feedback {
            sender: u32_at(body, 0),
            media: u32_at(body, 4),
            fci,
        })
    }

    pub(super) fn ssrcs(&self) -> FeedbackSsrcs {
        FeedbackSsrcs {
            sender: self.sender,
            media: self.media,
        }
    }
}
