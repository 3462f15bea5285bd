//! Keyframe requests: PLI (RFC 4585 §6.3.1) or FIR (RFC 5104 §4.3.1), rate limited.
//!
//! ```text
//!   request(now) ──▶ pending ──poll_request(now)──▶ PLI, or FIR with sequence n
//!                       │    (again every min_interval while no keyframe came: same FIR n,
//!                       │     a repetition of the same request, RFC 5104 §4.3.1.1)
//!   keyframe_received() ─┘──▶ idle; the next request() is FIR n+1
//! ```
//!
//! The jitter buffer's [`needs_keyframe`](super::JitterBuffer::needs_keyframe) after a given-up
//! hole, a decoder error or an application's wish all arrive as `request`.

use core::time::Duration;

use peerless_base::Instant;

use super::FirEntry;
use crate::rtcp::CompoundBuilder;

/// Which message asks for a keyframe (the SDP's `a=rtcp-fb:* nack pli` / `ccm fir`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KeyframeMethod {
    /// Picture Loss Indication.
    Pli,
    /// Full Intra Request.
    Fir,
}

/// A keyframe request to send now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KeyframeRequest {
    /// A PLI about the media SSRC.
    Pli {
        /// The media source.
        media_ssrc: u32,
    },
    /// A FIR entry (the media SSRC and its request sequence number).
    Fir(FirEntry),
}

impl KeyframeRequest {
    /// Adds the PLI or FIR, sent by `sender_ssrc`, to `builder`.
    pub fn write(&self, sender_ssrc: u32, builder: &mut CompoundBuilder<'_>) {
        match self {
            KeyframeRequest::Pli { media_ssrc } => builder.pli(sender_ssrc, *media_ssrc),
            KeyframeRequest::Fir(entry) => builder.fir(sender_ssrc, core::slice::from_ref(entry)),
        };
    }
}

/// What the requester did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct KeyframeStats {
    /// New requests (a `request` while none was pending).
    pub requests: u64,
    /// Messages handed out, repetitions included.
    pub sent: u64,
    /// `request` calls folded into a pending one.
    pub coalesced: u64,
}

/// Keyframe requests for one media SSRC.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KeyframeRequests {
    media_ssrc: u32,
    method: KeyframeMethod,
    min_interval: Duration,
    fir_sequence: u8,
    pending: bool,
    last_sent: Option<Instant>,
    now: Instant,
    stats: KeyframeStats,
}

impl KeyframeRequests {
    /// Requests about `media_ssrc` by `method`, at most one per `min_interval` (libwebrtc
    /// uses 300 ms; a request is repeated at that pace until a keyframe arrives).
    #[must_use]
    pub const fn new(media_ssrc: u32, method: KeyframeMethod, min_interval: Duration) -> Self {
        KeyframeRequests {
            media_ssrc,
            method,
            min_interval,
            fir_sequence: 0,
            pending: false,
            last_sent: None,
            now: Instant::ZERO,
            stats: KeyframeStats {
                requests: 0,
                sent: 0,
                coalesced: 0,
            },
        }
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> KeyframeStats {
        self.stats
    }

    /// Whether a request waits for its keyframe.
    #[must_use]
    pub fn is_pending(&self) -> bool {
        self.pending
    }

    /// Asks for a keyframe. A request already pending is not repeated early.
    pub fn request(&mut self, now: Instant) {
        self.now.advance(now);
        if self.pending {
            self.stats.coalesced += 1;
            return;
        }
        self.pending = true;
        self.fir_sequence = self.fir_sequence.wrapping_add(1);
        self.stats.requests += 1;
    }

    /// A keyframe arrived: stop asking.
    pub fn keyframe_received(&mut self) {
        self.pending = false;
    }

    /// When the next request may go out.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.pending {
            return None;
        }
        Some(match self.last_sent {
            None => self.now,
            Some(sent) => sent.saturating_add(self.min_interval),
        })
    }

    /// Nothing to do at a deadline but to let `poll_request` answer; kept for the verbs.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now.advance(now);
    }

    /// The request to send now, if one is pending and the rate limit allows.
    pub fn poll_request(&mut self, now: Instant) -> Option<KeyframeRequest> {
        let now = self.now.advance(now);
        if self.poll_timeout()? > now {
            return None;
        }
        self.last_sent = Some(now);
        self.stats.sent += 1;
        Some(match self.method {
            KeyframeMethod::Pli => KeyframeRequest::Pli {
                media_ssrc: self.media_ssrc,
            },
            KeyframeMethod::Fir => KeyframeRequest::Fir(FirEntry {
                ssrc: self.media_ssrc,
                sequence: self.fir_sequence,
            }),
        })
    }
}
