//! The media path on whatever CPU runs it, without an allocator or a clock: what the firmware
//! runs to prove the crate works on a microcontroller and to count its cost per packet.
//!
//! ```text
//!   sender                                   link (5 ms each way)             receiver
//!   VP8 keyframe (5000 B) ─packetize(1188)─▶ Header::emit ─▶ SendHistory: enqueue, poll_unsent
//!     p0 p1 p2 p3 p4  ──────────────────────  p0 p1 p4 p2 (p3 lost)  ──▶ ReceiverStats, NackRequests,
//!                                                                         JitterBuffer (holds p4)
//!   SR (SenderStats) ──────────────────────────────────────────────────▶ sender_report
//!   RR block: 1 lost, RTT  ◀──────────────── CompoundBuilder: RR + NACK(p3) ◀─ poll_nack
//!   handle_nack, poll_transmit ─ RTX (OSN p3) ────────────────────────▶ unwrap, insert
//!                                                                         frame == sent, byte for byte
//!   Opus: 10 packets of 20 ms, two swapped, one lost ─▶ a 4-slot JitterBuffer: 9 frames in
//!         order, the one after the loss given up at max_delay marked not contiguous
//! ```
//!
//! Every number checked is known in advance (sequence numbers, the loss, the RTT the SR/RR
//! exchange must give), so a wrong answer anywhere is a [`Failure`] naming the step. The
//! `instructions` counter the caller passes is read around each step, so a firmware can print
//! the cost per packet (pass `|| 0` where there is none):
//!
//! ```
//! let report = peerless_rtp::selftest::run(|| 0)?;
//! assert_eq!(report.video_packets, 5);
//! assert_eq!(report.retransmitted, 1);
//! # Ok::<(), peerless_rtp::selftest::Failure>(())
//! ```
//!
//! Storage is on the stack, about 22 KiB at the deepest (the video step).

use core::fmt;
use core::time::Duration;

use peerless_base::Instant;

use crate::codec::opus::{OpusDepacketizer, OpusPacketizer};
use crate::codec::vp8::{Vp8Depacketizer, Vp8Packetizer};
use crate::codec::{Packetizer, Packets};
use crate::packet::{Header, Packet};
use crate::receive::{
    Config, JitterBuffer, MediaPacket, NackConfig, NackPair, NackRequests, ReceiverStats,
};
use crate::rtcp::{Compound, CompoundBuilder, FeedbackSsrcs, Kind};
use crate::send::{HistoryConfig, NtpTime, Rtx, SendHistory, SenderStats};

/// The RTP packet size the video is cut to (header included).
pub const MTU: usize = 1200;
/// The VP8 keyframe's size.
pub const VIDEO_FRAME_LEN: usize = 5000;
/// The Opus packets sent.
pub const AUDIO_PACKETS: usize = 10;

const VIDEO_PACKETS: usize = 5;
const VIDEO_SSRC: u32 = 0x5eed_0001;
const RTX_SSRC: u32 = 0x5eed_0002;
const AUDIO_SSRC: u32 = 0x5eed_0003;
const RECEIVER_SSRC: u32 = 0x5eed_0004;
const VP8_PT: u8 = 96;
const RTX_PT: u8 = 97;
const OPUS_PT: u8 = 111;
/// Near a wrap, so the extended sequence numbers are exercised too.
const FIRST_SEQUENCE: u16 = 65_533;
const RTX_FIRST_SEQUENCE: u16 = 1000;
const LOST: usize = 3;
/// The order the link delivers the video packets in (p3 never arrives).
const DELIVERY: [usize; VIDEO_PACKETS - 1] = [0, 1, 4, 2];
const LINK_DELAY: Duration = Duration::from_millis(5);
const NACK_PAIRS: usize = 4;
/// 2023-11-14T22:13:20Z: any NTP origin will do; a fixed one keeps the SR reproducible.
const UNIX_ORIGIN: Duration = Duration::from_secs(1_700_000_000);

/// The step whose answer was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Failure {
    /// The VP8 frame did not packetize into the expected RTP packets.
    Packetize,
    /// The send history refused a packet.
    History,
    /// The jitter buffer refused a packet, or released something before the frame was whole.
    Jitter,
    /// The NACK did not ask for exactly the lost packet.
    Nack,
    /// The retransmission was not RTX for the lost packet.
    Rtx,
    /// The released frame differs from the one sent.
    Frame,
    /// The SR or RR did not carry what the statistics say (or the RTT is off).
    Rtcp,
    /// The Opus stream did not come out in order, complete and intact.
    Audio,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Failure::Packetize => "the VP8 frame did not packetize as expected",
            Failure::History => "the send history refused a packet",
            Failure::Jitter => "the jitter buffer misbehaved",
            Failure::Nack => "the NACK did not ask for the lost packet",
            Failure::Rtx => "the retransmission was not RTX of the lost packet",
            Failure::Frame => "the released frame differs from the sent one",
            Failure::Rtcp => "the SR/RR exchange is wrong",
            Failure::Audio => "the Opus stream did not come through intact",
        })
    }
}

impl core::error::Error for Failure {}

/// Instructions (or whatever the caller's counter counts) spent per step, summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instructions {
    /// VP8 packetizing, header emit and recording in the send history, all video packets.
    pub packetize: u64,
    /// Jitter buffer insert for every video packet that arrived (the RTX one too) and the
    /// frame's release.
    pub jitter: u64,
    /// The NACK round for the one lost packet: poll_nack, the RR + NACK compound built and
    /// parsed, handle_nack, poll_transmit (RTX), and the RTX packet unwrapped.
    pub nack_rtx: u64,
    /// The whole Opus stream: packetize, emit, insert and release, all packets.
    pub audio: u64,
}

/// What the self-test saw (every field was also checked against its known answer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Report {
    /// RTP packets the video frame became.
    pub video_packets: usize,
    /// Bytes of the frame released by the jitter buffer (equal to the sent frame).
    pub video_frame_bytes: usize,
    /// Packets resent as RTX.
    pub retransmitted: usize,
    /// Bytes of the receiver's RR + NACK compound.
    pub rtcp_bytes: usize,
    /// The round-trip time the sender computed from the RR block.
    pub rtt: Duration,
    /// Opus frames released.
    pub audio_frames: usize,
    /// Opus holes given up.
    pub audio_gaps: u64,
    /// Cost per step.
    pub instructions: Instructions,
}

/// Runs the video and audio paths; `instructions` is read around each step.
///
/// # Errors
///
/// [`Failure`] names the first step whose answer was wrong.
pub fn run(instructions: impl Fn() -> u64) -> Result<Report, Failure> {
    let mut report = Report::default();
    video(&instructions, &mut report)?;
    audio(&instructions, &mut report)?;
    Ok(report)
}

/// A VP8 keyframe: a frame tag with the P bit clear (RFC 6386 §9.1), the start code, 64x48,
/// then xorshift bytes standing in for the compressed data. A generator, so the released frame
/// can be compared without a second copy of the sent one.
fn keyframe() -> impl Iterator<Item = u8> {
    const HEAD: [u8; 10] = [0x10, 0x20, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x00, 0x30, 0x00];
    let body = core::iter::successors(Some(0x9e37_79b9u32), |&x| {
        let x = x ^ (x << 13);
        let x = x ^ (x >> 17);
        Some(x ^ (x << 5))
    });
    HEAD.into_iter()
        .chain(body.map(|x| x as u8))
        .take(VIDEO_FRAME_LEN)
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

// Not inlined, here and for `audio`: the buffers then live only while the step runs, and never
// add to the frame of a caller that goes on to something deeper (the firmware's stack budget).
#[inline(never)]
fn video(instructions: &impl Fn() -> u64, report: &mut Report) -> Result<(), Failure> {
    // The jitter buffer's area, whose frame output at the front first holds the frame to send
    // and later the frame released: one buffer on the stack for both.
    const JITTER: Config = Config {
        max_frame: VIDEO_FRAME_LEN,
        slot_size: MTU - 12,
        ..Config::video()
    };
    let mut area = [0u8; JITTER.area_for(8)];
    for (b, k) in area.iter_mut().zip(keyframe()) {
        *b = k;
    }
    let frame = area.get(..VIDEO_FRAME_LEN).unwrap_or_default();

    // Sender: packetize at t=0; each packet goes through the history's send queue, whose
    // copies are then the link (the bytes the receiver gets are the bytes that were sent).
    const HISTORY_PACKETS: usize = 16;
    let mut history_area = [0u8; SendHistory::<&mut [u8]>::area_for(HISTORY_PACKETS, 6 * 1024)];
    let config = HistoryConfig {
        rtx: Some(Rtx::new(RTX_SSRC, RTX_FIRST_SEQUENCE, VP8_PT, RTX_PT)),
        ..HistoryConfig::default()
    };
    let mut history: SendHistory<&mut [u8], 8> =
        SendHistory::new(config, &mut history_area[..], HISTORY_PACKETS);
    let mut sender = SenderStats::new(90_000, NtpTime::from_unix(UNIX_ORIGIN));
    let mut packetizer = Vp8Packetizer::default();
    // One packet's payload, later the RTX packet (two bytes longer: the OSN).
    let mut scratch = [0u8; MTU + 2];
    let timestamp = 0xffff_f000;

    let t = instructions();
    let mut packets = packetizer
        .packetize(frame, MTU - 12)
        .map_err(|_| Failure::Packetize)?;
    let mut count = 0;
    let mut wire = [0u8; MTU];
    while let Some(next) = packets.next_payload(&mut scratch) {
        let p = next.map_err(|_| Failure::Packetize)?;
        let body = scratch.get(..p.len).unwrap_or_default();
        let header = Header {
            marker: p.marker,
            payload_type: VP8_PT,
            sequence_number: FIRST_SEQUENCE.wrapping_add(count as u16),
            timestamp,
            ssrc: VIDEO_SSRC,
            ..Header::default()
        };
        let len = header
            .emit(body, &mut wire)
            .map_err(|_| Failure::Packetize)?;
        let sent = wire.get(..len).unwrap_or_default();
        history.enqueue(at(0), sent).map_err(|_| Failure::History)?;
        // What the queue hands out is what was enqueued.
        let out = history.poll_unsent(at(0), &mut wire);
        if out != Ok(Some(len)) || history.unsent_len() != 0 {
            return Err(Failure::History);
        }
        sender.on_sent(at(0), timestamp, p.len);
        count += 1;
    }
    report.instructions.packetize += instructions() - t;
    if count != VIDEO_PACKETS {
        return Err(Failure::Packetize);
    }
    report.video_packets = count;

    // Receiver: the link delivers p0 p1 p4 p2, 1 ms apart after its delay.
    let mut jitter: JitterBuffer<&mut [u8], Vp8Depacketizer> =
        JitterBuffer::new(JITTER, Vp8Depacketizer::new(), &mut area[..]);
    if jitter.slots() != 8 {
        return Err(Failure::Jitter);
    }
    let mut nacks: NackRequests<32> = NackRequests::new(NackConfig::default());
    let mut stats = ReceiverStats::new(VIDEO_SSRC, 90_000);
    for (k, &i) in DELIVERY.iter().enumerate() {
        let now = at(5 + k as u64);
        let sent = history.get(FIRST_SEQUENCE.wrapping_add(i as u16));
        let packet = Packet::parse(sent.ok_or(Failure::History)?).map_err(|_| Failure::Jitter)?;
        stats.record(now, packet.sequence_number(), packet.timestamp());
        nacks.record(now, packet.sequence_number());
        let t = instructions();
        jitter
            .insert(now, MediaPacket::from(&packet))
            .map_err(|_| Failure::Jitter)?;
        // Nothing may come out while p3 is missing.
        let early = jitter.poll_frame().is_some();
        report.instructions.jitter += instructions() - t;
        if early {
            return Err(Failure::Jitter);
        }
    }

    // Sender: an SR at t=10, received at t=15.
    let mut rtcp = [0u8; 256];
    let info = sender.sender_info(at(10)).ok_or(Failure::Rtcp)?;
    let mut sr = CompoundBuilder::new(&mut rtcp);
    sr.sender_report(VIDEO_SSRC, &info, &[]);
    let n = sr.finish().map_err(|_| Failure::Rtcp)?;
    let compound = Compound::parse(rtcp.get(..n).unwrap_or_default()).map_err(|_| Failure::Rtcp)?;
    let mut sender_reports = 0;
    for packet in compound.packets() {
        if let Ok(Kind::SenderReport(sr)) = packet.kind() {
            let info = sr.sender_info();
            let sent = (
                VIDEO_PACKETS as u32,
                VIDEO_FRAME_LEN as u32 + 4 * count as u32,
            );
            if sr.ssrc() != VIDEO_SSRC || (info.packet_count, info.octet_count) != sent {
                return Err(Failure::Rtcp);
            }
            stats.sender_report(at(10) + LINK_DELAY, info.ntp_timestamp);
            sender_reports += 1;
        }
    }
    if sender_reports != 1 {
        return Err(Failure::Rtcp);
    }

    // Receiver at t=20: RR + NACK for p3 in one compound; the sender has it at t=25.
    let t = instructions();
    let mut pairs = [NackPair::default(); NACK_PAIRS];
    let asked = nacks.poll_nack(at(20), &mut pairs);
    let block = stats.report_block(at(20)).ok_or(Failure::Rtcp)?;
    let mut builder = CompoundBuilder::new(&mut rtcp);
    builder.receiver_report(RECEIVER_SSRC, &[block]).nack(
        FeedbackSsrcs {
            sender: RECEIVER_SSRC,
            media: VIDEO_SSRC,
        },
        pairs.get(..asked).unwrap_or_default(),
    );
    report.rtcp_bytes = builder.finish().map_err(|_| Failure::Rtcp)?;
    let arrival = at(25);
    let compound = Compound::parse(rtcp.get(..report.rtcp_bytes).unwrap_or_default())
        .map_err(|_| Failure::Rtcp)?;
    let mut rtt = None;
    let mut nacked = 0;
    for packet in compound.packets() {
        match packet.kind() {
            Ok(Kind::ReceiverReport(rr)) => {
                for block in rr.reports().filter(|b| b.ssrc == VIDEO_SSRC) {
                    // Of p1..p4 (p0 was the source's probation, RFC 3550 A.1) p3 is lost.
                    let expected_highest = u32::from(FIRST_SEQUENCE.wrapping_add(4)) + (1 << 16);
                    if block.cumulative_lost != 1
                        || block.fraction_lost != 64
                        || block.highest_sequence != expected_highest
                    {
                        return Err(Failure::Rtcp);
                    }
                    rtt = sender.round_trip_time(arrival, &block);
                }
            }
            Ok(Kind::Nack(nack)) => {
                let lost = FIRST_SEQUENCE.wrapping_add(LOST as u16);
                if nack.ssrcs().media != VIDEO_SSRC || nack.lost().ne([lost]) {
                    return Err(Failure::Nack);
                }
                history.handle_nack(arrival, nack.lost());
                nacked += 1;
            }
            _ => return Err(Failure::Rtcp),
        }
    }
    let resent = history
        .poll_transmit(&mut scratch)
        .map_err(|_| Failure::Rtx)?;
    let resent = resent.ok_or(Failure::Rtx)?;
    if !resent.rtx || nacked != 1 {
        return Err(Failure::Rtx);
    }
    // Receiver: the RTX packet (RFC 4588 §4) back into the original at t=30.
    let packet = Packet::parse(resent.packet).map_err(|_| Failure::Rtx)?;
    let (osn, body) = packet
        .payload()
        .split_first_chunk::<2>()
        .ok_or(Failure::Rtx)?;
    let original = MediaPacket {
        sequence: u16::from_be_bytes(*osn),
        timestamp: packet.timestamp(),
        marker: packet.marker(),
        payload: body,
    };
    let unwrapped_ok = packet.ssrc() == RTX_SSRC
        && packet.payload_type() == RTX_PT
        && packet.sequence_number() == RTX_FIRST_SEQUENCE
        && original.sequence == FIRST_SEQUENCE.wrapping_add(LOST as u16);
    report.instructions.nack_rtx += instructions() - t;
    if !unwrapped_ok {
        return Err(Failure::Rtx);
    }
    report.retransmitted = 1;
    let rtt = rtt.ok_or(Failure::Rtcp)?;
    // 5 ms each way; the DLSR's 1/65536 s units round by at most one unit.
    if rtt.abs_diff(2 * LINK_DELAY) > Duration::from_micros(100) {
        return Err(Failure::Rtcp);
    }
    report.rtt = rtt;

    let t = instructions();
    nacks.record(at(30), original.sequence);
    jitter
        .insert(at(30), original)
        .map_err(|_| Failure::Jitter)?;
    let released = jitter.poll_frame();
    report.instructions.jitter += instructions() - t;
    let released = released
        .ok_or(Failure::Frame)?
        .map_err(|_| Failure::Frame)?;
    if !released.data.iter().copied().eq(keyframe())
        || !released.keyframe
        || released.timestamp != timestamp
    {
        return Err(Failure::Frame);
    }
    report.video_frame_bytes = released.data.len();
    if nacks.missing().next().is_some() {
        return Err(Failure::Nack);
    }
    Ok(())
}

#[inline(never)]
fn audio(instructions: &impl Fn() -> u64, report: &mut Report) -> Result<(), Failure> {
    const LEN: usize = 40;
    const SLOTS: usize = 4;
    // Arrival order: 2 and 3 swapped, 7 lost.
    const ORDER: [usize; AUDIO_PACKETS - 1] = [0, 1, 3, 2, 4, 5, 6, 8, 9];
    const LOST: usize = 7;
    // TOC 0x78: SILK+CELT hybrid, fullband, 20 ms, one frame (RFC 6716 §3.1).
    let opus = |i: usize| -> [u8; LEN] {
        let mut p = [i as u8; LEN];
        if let Some(toc) = p.first_mut() {
            *toc = 0x78;
        }
        p
    };
    let mut packetizer = OpusPacketizer::new();
    const JITTER: Config = Config {
        max_frame: LEN,
        slot_size: LEN,
        ..Config::audio()
    };
    let mut area = [0u8; JITTER.area_for(SLOTS)];
    let mut jitter: JitterBuffer<&mut [u8], OpusDepacketizer> =
        JitterBuffer::new(JITTER, OpusDepacketizer::new(), &mut area[..]);
    let (mut payload, mut wire) = ([0u8; LEN], [0u8; 12 + LEN]);
    let mut expected = 0usize;
    let mut released = 0usize;

    let t = instructions();
    for (k, &i) in ORDER.iter().enumerate() {
        // Packet i is sent at 20 i ms and arrives 5 ms later, except the swapped pair.
        let now = at(5 + 20 * k as u64);
        let media = opus(i);
        let mut packets = packetizer
            .packetize(&media, LEN)
            .map_err(|_| Failure::Audio)?;
        let p = packets
            .next_payload(&mut payload)
            .ok_or(Failure::Audio)?
            .map_err(|_| Failure::Audio)?;
        let header = Header {
            marker: p.marker,
            payload_type: OPUS_PT,
            sequence_number: i as u16,
            timestamp: 960 * i as u32,
            ssrc: AUDIO_SSRC,
            ..Header::default()
        };
        let n = header
            .emit(payload.get(..p.len).unwrap_or_default(), &mut wire)
            .map_err(|_| Failure::Audio)?;
        let packet =
            Packet::parse(wire.get(..n).unwrap_or_default()).map_err(|_| Failure::Audio)?;
        jitter
            .insert(now, MediaPacket::from(&packet))
            .map_err(|_| Failure::Audio)?;
        if i == LOST + 1 {
            // Packet 8 waits behind the hole: nothing out until max_delay has passed.
            if jitter.poll_frame().is_some() {
                return Err(Failure::Audio);
            }
            continue;
        }
        if i == LOST + 2 {
            jitter.handle_timeout(at(5 + 20 * (k as u64 - 1)) + Config::audio().max_delay);
        }
        while let Some(frame) = jitter.poll_frame() {
            let frame = frame.map_err(|_| Failure::Audio)?;
            if expected == LOST {
                expected += 1;
            }
            let in_order = frame.data == opus(expected)
                && frame.timestamp == 960 * expected as u32
                && frame.contiguous == (expected != LOST + 1);
            if !in_order {
                return Err(Failure::Audio);
            }
            expected += 1;
            released += 1;
        }
    }
    report.instructions.audio += instructions() - t;
    let stats = jitter.stats();
    if released != AUDIO_PACKETS - 1 || stats.gaps_given_up != 1 {
        return Err(Failure::Audio);
    }
    report.audio_frames = released;
    report.audio_gaps = stats.gaps_given_up;
    Ok(())
}
