//! RTCP both ways, and the media part of `poll_transmit`.
//!
//! ```text
//!   in:  SR  -> the stream's ReceiverStats (LSR/DLSR for our RR), its blocks -> RTT
//!        RR  -> RTT (our SR's LSR) and what the peer lost (remote-inbound-rtp)
//!        NACK -> the send history (retransmissions)   PLI/FIR -> Event::KeyframeRequest
//!   out, per transceiver, round robin:
//!        feedback due (NACK pairs, PLI/FIR)  -> RtcpSchedule::write_feedback
//!        report due                          -> SR (we send) or RR + SDES CNAME
//!   then RTP, as the pacing budget lets it out (`pacing.rs`)
//!   every one protected in place with the outbound SRTP context
//! ```

use peerless_rtp::rtcp::{Compound, Kind, NackPair, ReportBlock};
use peerless_rtp::send::{ReportContent, ReportError};

use super::*;

/// NACK pairs written per feedback message.
const NACK_PAIRS: usize = 16;

impl<
    S: Area,
    const CHUNKS: usize,
    const CHANNELS: usize,
    const DTLS: usize,
    const LOCAL_SDP: usize,
    const REMOTE_SDP: usize,
    const REMOTE_CANDIDATES: usize,
    const TRANSCEIVERS: usize,
> Peer<S, CHUNKS, CHANNELS, DTLS, LOCAL_SDP, REMOTE_SDP, REMOTE_CANDIDATES, TRANSCEIVERS>
{
    /// An unprotected RTCP compound packet.
    pub(in crate::peer) fn handle_rtcp(&mut self, now: Instant, bytes: &[u8]) {
        let Ok(compound) = Compound::parse(bytes) else {
            self.media.dropped_malformed += 1;
            return;
        };
        for slot in 0..TRANSCEIVERS {
            if let Some(r) = self.media.rtcp.get_mut(slot).and_then(Option::as_mut) {
                r.on_rtcp_received(bytes.len());
            }
        }
        for packet in compound.packets() {
            let Ok(kind) = packet.kind() else {
                self.media.dropped_malformed += 1;
                continue;
            };
            match kind {
                Kind::SenderReport(sr) => {
                    let info = sr.sender_info();
                    if let Some(r) = self.receiver_by_ssrc(sr.ssrc()) {
                        r.on_sender_report(now, info);
                    }
                    for block in sr.reports() {
                        self.handle_report_block(now, &block);
                    }
                }
                Kind::ReceiverReport(rr) => {
                    for block in rr.reports() {
                        self.handle_report_block(now, &block);
                    }
                }
                Kind::Nack(nack) => {
                    let media = nack.ssrcs().media;
                    if let Some(t) = self.sender_by_ssrc(media) {
                        t.stats.nacks_received += 1;
                        if let Some(send) = t.send.as_mut() {
                            send.handle_nack(now, nack.lost());
                        }
                    }
                }
                Kind::Pli(ssrcs) => {
                    if let Some(t) = self.sender_by_ssrc(ssrcs.media) {
                        t.stats.plis_received += 1;
                        t.announce_keyframe = Some(KeyframeKind::Pli);
                    }
                }
                Kind::Fir(fir) => {
                    for entry in fir.entries() {
                        if let Some(t) = self.sender_by_ssrc(entry.ssrc) {
                            t.stats.firs_received += 1;
                            t.announce_keyframe = Some(KeyframeKind::Fir);
                        }
                    }
                }
                Kind::Bye(bye) => {
                    // Counted; consent, not BYE, ends the connection (a BYE is unauthenticated
                    // beyond SRTCP and browsers send it on every stopped track).
                    for ssrc in bye.ssrcs() {
                        let slot = self
                            .media
                            .receivers
                            .iter()
                            .flatten()
                            .find(|r| r.ssrc == ssrc)
                            .map(|r| r.transceiver);
                        if let Some(Some(t)) = slot.and_then(|s| self.media.transceivers.get_mut(s))
                        {
                            t.stats.byes_received += 1;
                        }
                    }
                }
                Kind::TransportCc(feedback) => {
                    if let Some(c) = self.media.congestion.as_mut() {
                        c.on_transport_cc(now, &feedback);
                    }
                }
                Kind::Remb(remb) => {
                    if let Some(c) = self.media.congestion.as_mut() {
                        c.on_remb(now, remb.bitrate());
                    }
                }
                // SDES and APP carry nothing we act on.
                _ => {}
            }
        }
    }

    fn handle_report_block(&mut self, now: Instant, block: &ReportBlock) {
        let rtt = {
            let Some(t) = self.sender_by_ssrc(block.ssrc) else {
                return;
            };
            let rtt = t.send.as_ref().and_then(|s| s.round_trip_time(now, block));
            t.stats.remote_packets_lost = i64::from(block.cumulative_lost);
            t.stats.remote_fraction_lost = block.fraction_lost;
            t.stats.remote_jitter = block.jitter;
            t.report_received_at = Some(now);
            if let Some(rtt) = rtt {
                t.stats.round_trip_time_us = Some(rtt.as_micros() as u64);
                t.stats.round_trip_time_measurements += 1;
                t.stats.total_round_trip_time_us = t
                    .stats
                    .total_round_trip_time_us
                    .saturating_add(rtt.as_micros() as u64);
                if let Some(send) = t.send.as_mut() {
                    send.set_round_trip_time(rtt);
                }
            }
            rtt
        };
        // The path's round trip paces our NACKs too, and tells the estimator how fast the
        // path answers.
        if let Some(rtt) = rtt {
            self.media.rtcp_rtt = true;
            if let Some(c) = self.media.congestion.as_mut() {
                c.set_round_trip_time(rtt);
            }
            for r in self.media.receivers.iter_mut().flatten() {
                r.set_round_trip_time(rtt);
            }
        }
    }

    fn receiver_by_ssrc(&mut self, ssrc: u32) -> Option<&mut ReceiveStream<S>> {
        self.media
            .receivers
            .iter_mut()
            .flatten()
            .find(|r| r.ssrc == ssrc)
    }

    fn sender_by_ssrc(&mut self, ssrc: u32) -> Option<&mut Transceiver<S>> {
        self.media
            .transceivers
            .iter_mut()
            .flatten()
            .find(|t| t.ssrc == ssrc && t.send.is_some())
    }

    /// The next media datagram (RTCP or RTP), protected, into `buf`.
    pub(in crate::peer) fn media_transmit(
        &mut self,
        buf: &mut [u8],
    ) -> Result<Option<Range<usize>>, BufferTooSmall> {
        if !Self::HAS_MEDIA {
            return Ok(None);
        }
        let now = self.now;
        if self
            .transport
            .running()
            .and_then(|r| r.srtp.as_ref())
            .is_none()
        {
            return Ok(None);
        }
        // RTCP is never paced: it is small, and feedback is what the peer's estimator and
        // loss recovery wait for.
        let start = self.media.next_sender;
        for k in 0..TRANSCEIVERS {
            let slot = (start + k) % TRANSCEIVERS.max(1);
            if let Some(len) = self.transport_feedback(slot, now, buf)? {
                return Ok(self.protect(buf, len, true).map(|n| 0..n));
            }
            if let Some(len) = self.rtcp_for(slot, now, buf)? {
                return Ok(self.protect(buf, len, true).map(|n| 0..n));
            }
        }
        Ok(self.paced_transmit(now, buf)?.map(|n| 0..n))
    }

    /// Protects `len` bytes at the start of `buf` in place; the protected length.
    pub(in crate::peer) fn protect(
        &mut self,
        buf: &mut [u8],
        len: usize,
        rtcp: bool,
    ) -> Option<usize> {
        let srtp = self.transport.running_mut()?.srtp.as_mut()?;
        let result = if rtcp {
            srtp.outbound.protect_rtcp(buf, len)
        } else {
            srtp.outbound.protect_rtp(buf, len)
        };
        match result {
            Ok(n) => Some(n),
            Err(_) => {
                self.stats.dropped_srtp_protect += 1;
                None
            }
        }
    }

    /// RTCP the transceiver in `slot` owes now, unprotected, into `buf`.
    fn rtcp_for(
        &mut self,
        slot: usize,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let Some(Some(t)) = self.media.transceivers.get(slot) else {
            return Ok(None);
        };
        let Some(schedule) = self.media.rtcp.get(slot).and_then(Option::as_ref) else {
            return Ok(None);
        };
        // The SSRC we report as: our media SSRC (a receive-only transceiver's too: it is
        // random and ours, RFC 3550 §8).
        let ssrc = t.ssrc;
        let sender_info = t.send.as_ref().and_then(|s| s.sender_info(now));
        let cname = self.media.cname;
        // Feedback first: it is what loss recovery waits for.
        let mut pairs = [NackPair { pid: 0, blp: 0 }; NACK_PAIRS];
        let mut feedback: Option<(
            u32,
            usize,
            Option<peerless_rtp::receive::KeyframeRequest>,
            usize,
        )> = None;
        for (i, r) in self.media.receivers.iter_mut().enumerate() {
            let Some(r) = r.as_mut().filter(|r| r.transceiver == slot) else {
                continue;
            };
            let n = r.poll_nack(now, &mut pairs);
            let key = r.keyframes.as_mut().and_then(|k| k.poll_request(now));
            if n > 0 || key.is_some() {
                feedback = Some((r.ssrc, n, key, i));
                break;
            }
        }
        let due = schedule.is_due();
        let Some(schedule) = self.media.rtcp.get_mut(slot).and_then(Option::as_mut) else {
            return Ok(None);
        };
        let content = ReportContent {
            ssrc,
            sender_info,
            blocks: &[],
            cname: cname.as_str().as_bytes(),
        };
        if let Some((media, n, key, i)) = feedback {
            let written = schedule.write_feedback(buf, &content, |b| {
                if n > 0 {
                    b.nack(
                        peerless_rtp::rtcp::FeedbackSsrcs {
                            sender: ssrc,
                            media,
                        },
                        pairs.get(..n).unwrap_or_default(),
                    );
                }
                if let Some(k) = key {
                    k.write(ssrc, b);
                }
            });
            let len = match written {
                Ok(len) => len,
                Err(ReportError::BufferTooSmall { needed }) => {
                    return Err(BufferTooSmall { needed });
                }
                // At most one NACK message and one request: always encodable.
                Err(_) => return Ok(None),
            };
            if let Some(Some(r)) = self.media.receivers.get_mut(i) {
                if n > 0 {
                    r.nacks_sent += 1;
                }
                match key {
                    Some(peerless_rtp::receive::KeyframeRequest::Pli { .. }) => r.plis_sent += 1,
                    Some(_) => r.firs_sent += 1,
                    None => {}
                }
            }
            return Ok(Some(len));
        }
        if !due {
            return Ok(None);
        }
        let mut blocks = [ReportBlock::default(); MAX_RIDS];
        let mut count = 0;
        for r in self.media.receivers.iter_mut().flatten() {
            if r.transceiver != slot {
                continue;
            }
            if let (Some(b), Some(dst)) = (r.stats.report_block(now), blocks.get_mut(count)) {
                *dst = b;
                count += 1;
            }
        }
        let Some(schedule) = self.media.rtcp.get_mut(slot).and_then(Option::as_mut) else {
            return Ok(None);
        };
        let content = ReportContent {
            blocks: blocks.get(..count).unwrap_or_default(),
            ..content
        };
        match schedule.write_report(now, buf, &content) {
            Ok(w) => Ok(Some(w.len)),
            Err(ReportError::BufferTooSmall { needed }) => Err(BufferTooSmall { needed }),
            // Three blocks and a 16-character CNAME: always encodable.
            Err(_) => Ok(None),
        }
    }

    /// The media timers: RTCP schedules and every incoming stream's.
    pub(in crate::peer) fn media_timeout(&mut self, now: Instant) {
        if !Self::HAS_MEDIA {
            return;
        }
        self.dtmf_timeout(now);
        self.nack_pace_from_ice();
        // Data waiting beside the media wants more than the target: probes look for it.
        let wants_more = self.backlog(now).has(peerless_cc::Class::Data);
        if let Some(c) = self.media.congestion.as_mut() {
            c.handle_timeout(now, wants_more);
        }
        for a in self.media.arrivals.iter_mut().flatten() {
            a.handle_timeout(now);
        }
        for r in self.media.rtcp.iter_mut().flatten() {
            r.handle_timeout(now);
        }
        for r in self.media.receivers.iter_mut().flatten() {
            r.handle_timeout(now);
        }
    }

    /// A Peer that only receives learns no round trip from RTCP (that takes a sender report
    /// of its own): until it does, the ICE checks' round trip on the same path paces its
    /// NACKs, instead of the 100 ms guess that left room for only five tries in the 500 ms
    /// a hole is waited for.
    pub(in crate::peer) fn nack_pace_from_ice(&mut self) {
        if self.media.rtcp_rtt {
            return;
        }
        if let Some(rtt) = self.ice.rtt() {
            for r in self.media.receivers.iter_mut().flatten() {
                r.set_round_trip_time(rtt);
            }
        }
    }

    /// The earliest media deadline.
    pub(in crate::peer) fn media_poll_timeout(&self) -> Option<Instant> {
        if !Self::HAS_MEDIA {
            return None;
        }
        let rtcp = self
            .media
            .rtcp
            .iter()
            .flatten()
            .filter_map(|r| r.poll_timeout());
        let streams = self
            .media
            .receivers
            .iter()
            .flatten()
            .filter_map(ReceiveStream::poll_timeout);
        let congestion = self
            .media
            .congestion
            .as_ref()
            .and_then(|c| c.poll_timeout(self.now));
        // Feedback leaves on a transceiver's RTCP schedule: with none left (renegotiated
        // away), waiting arrivals are not a deadline.
        let reportable = self.media.rtcp.iter().any(Option::is_some);
        let arrivals = self
            .media
            .arrivals
            .iter()
            .flatten()
            .filter(|_| reportable)
            .filter_map(|a| a.poll_timeout());
        rtcp.chain(streams)
            .chain(self.dtmf_poll_timeout())
            .chain(congestion)
            .chain(self.pacing_timeout())
            .chain(arrivals)
            .min()
    }
}
