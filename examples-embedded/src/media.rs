//! Media between two Peers on the target: G.711 frames each way over SRTP, instructions per
//! frame sent and received, every frame checked byte for byte.
//!
//! ```text
//!   offerer (add_track audio)                               answerer (add_track audio)
//!   create_offer -> set_local ------- offer (PCMU) -------> set_remote -> create_answer
//!   set_remote  <-------------------- answer -------------- set_local
//!   ICE, DTLS, SRTP keys  <==== datagrams through one buffer, virtual clock ====>  Connected
//!   write_frame(i) -> poll_transmit ---- SRTP packet ----> handle_packet -> MediaData(i) == sent
//!   MediaData(i) == sent <-- handle_packet ---- SRTP ----- poll_transmit <- write_frame(i)
//! ```
//!
//! No data channel, so the SCTP areas stay empty; one audio transceiver per Peer, with a send
//! area and a receive area (the jitter buffer: one frame output and one packet slot).

use core::fmt::Write;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::time::Duration;

use peerless::sdp::jsep::CodecCapability;
use peerless::{
    AreaUse, Codec, ConnectionState, Event, MediaError, MediaKind, Peer, SdpType, selftest,
};
use peerless_base::Instant;

use crate::app::Failed;

/// The Peers of this exchange: 16 SCTP chunks and 1 channel (no data channel is opened),
/// 2 KiB DTLS buffers and SDP copies, one transceiver.
type MediaPeer<'a> = Peer<&'a mut [u8], 16, 1, 2048, 1536, 1536, 8, 1>;

/// Frames sent each way.
pub const FRAMES: usize = 10;
/// 20 ms of G.711 at 8 kHz.
const FRAME_BYTES: usize = 160;
/// The audio send area: a few packets (a PCMU packet is 172 bytes plus its index record).
const SEND_AREA: usize = 2048;
/// The receive area: the jitter buffer's frame output (1 232 bytes) and one slot (1 264).
const RECEIVE_AREA: usize = 2560;

const OFFERER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 5000);
const ANSWERER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 5000);

const PCMU: &[CodecCapability<'static>] = &[CodecCapability {
    payload_type: 0,
    name: "PCMU",
    clock_rate: 8_000,
    channels: None,
    fmtp: None,
    feedback: &[],
}];

/// Frame `i` of a side: bytes that differ per frame and per side, so a frame delivered out
/// of place or to the wrong side does not compare equal.
fn frame(side: u8, i: usize) -> [u8; FRAME_BYTES] {
    let mut f = [0u8; FRAME_BYTES];
    for (k, b) in f.iter_mut().enumerate() {
        *b = (k as u8).wrapping_mul(7) ^ (i as u8).wrapping_mul(31) ^ side.wrapping_mul(0x5a);
    }
    f
}

/// Instructions spent, by what they were spent on.
#[derive(Default)]
struct Spent {
    /// Signalling, ICE, DTLS: both sides, from the offer to Connected.
    connect: u64,
    /// write_frame and the poll_transmit that sends its packet (SRTP protect), both sides.
    send: u64,
    /// handle_packet of a media packet (SRTP unprotect, jitter buffer) and the poll_event
    /// that hands the frame out, both sides.
    receive: u64,
}

/// What one side received: frames equal to what the other side sent, and any other.
#[derive(Default, Clone, Copy)]
struct Received {
    equal: usize,
    differ: usize,
    first_time: Option<u32>,
}

/// Runs the exchange and writes `media_*` lines; `Ok(false)` on a wrong answer.
// Not inlined: the Peers and areas live in this frame only while it runs.
#[inline(never)]
pub fn exchange(out: &mut impl Write, instructions: &impl Fn() -> u64) -> Result<bool, Failed> {
    let Ok((ca, cb)) = selftest::certificates() else {
        writeln!(out, "media_exchange=FAIL certificates")?;
        return Ok(false);
    };
    let (mut a_send, mut a_recv) = ([0u8; SEND_AREA], [0u8; RECEIVE_AREA]);
    let (mut b_send, mut b_recv) = ([0u8; SEND_AREA], [0u8; RECEIVE_AREA]);
    let mut config_a = selftest::config(ca, 11);
    let mut config_b = selftest::config(cb, 12);
    config_a.audio_codecs = PCMU;
    config_b.audio_codecs = PCMU;
    let mut a: MediaPeer<'_> = Peer::new(config_a, Instant::ZERO, &mut [], &mut []);
    let mut b: MediaPeer<'_> = Peer::new(config_b, Instant::ZERO, &mut [], &mut []);
    let mut spent = Spent::default();
    let t = instructions();
    let ready = setup(
        &mut a,
        &mut b,
        &mut a_send,
        &mut a_recv,
        &mut b_send,
        &mut b_recv,
    );
    spent.connect += instructions() - t;
    if ready.is_err() {
        writeln!(out, "media_exchange=FAIL signalling")?;
        return Ok(false);
    }
    let mut buf = [0u8; 1500];
    let result = run(&mut a, &mut b, &mut buf, &mut spent, instructions);
    let (got_a, got_b) = match result {
        Ok(r) => r,
        Err(what) => {
            writeln!(out, "media_exchange=FAIL {what}")?;
            return Ok(false);
        }
    };
    let ok = got_a.equal == FRAMES && got_b.equal == FRAMES && got_a.differ + got_b.differ == 0;
    writeln!(out, "media_exchange={}", if ok { "pass" } else { "FAIL" })?;
    writeln!(
        out,
        "media_pcmu frames_each_way={FRAMES} frame_bytes={FRAME_BYTES} received_equal={}+{} differ={}",
        got_a.equal,
        got_b.equal,
        got_a.differ + got_b.differ
    )?;
    writeln!(
        out,
        "media_instructions connect_both_sides={} per_frame_sent={} per_frame_received={}",
        spent.connect,
        spent.send / (2 * FRAMES as u64),
        spent.receive / (2 * FRAMES as u64)
    )?;
    writeln!(
        out,
        "media_peer_bytes={}",
        core::mem::size_of::<MediaPeer<'_>>()
    )?;
    Ok(ok)
}

/// Areas, tracks, offer and answer.
fn setup<'a>(
    a: &mut MediaPeer<'a>,
    b: &mut MediaPeer<'a>,
    a_send: &'a mut [u8],
    a_recv: &'a mut [u8],
    b_send: &'a mut [u8],
    b_recv: &'a mut [u8],
) -> Result<(), ()> {
    for (peer, send, recv) in [(&mut *a, a_send, a_recv), (&mut *b, b_send, b_recv)] {
        peer.lend_media_area(MediaKind::Audio, AreaUse::Send, send)
            .map_err(|_| ())?;
        peer.lend_media_area(MediaKind::Audio, AreaUse::Receive, recv)
            .map_err(|_| ())?;
        // Before the offer, as a browser's addTrack: the offer's audio section takes it.
        peer.add_track(MediaKind::Audio, "firmware")
            .map_err(|_| ())?;
    }
    a.add_local_candidate(OFFERER).map_err(|_| ())?;
    b.add_local_candidate(ANSWERER).map_err(|_| ())?;
    let mut sdp = [0u8; 1536];
    let len = a.create_offer(&mut sdp).map_err(|_| ())?.len();
    let offer = core::str::from_utf8(sdp.get(..len).ok_or(())?).map_err(|_| ())?;
    a.set_local_description(SdpType::Offer, offer)
        .map_err(|_| ())?;
    b.set_remote_description(SdpType::Offer, offer)
        .map_err(|_| ())?;
    let mut sdp = [0u8; 1536];
    let len = b.create_answer(&mut sdp).map_err(|_| ())?.len();
    let answer = core::str::from_utf8(sdp.get(..len).ok_or(())?).map_err(|_| ())?;
    b.set_local_description(SdpType::Answer, answer)
        .map_err(|_| ())?;
    a.set_remote_description(SdpType::Answer, answer)
        .map_err(|_| ())?;
    Ok(())
}

/// What a side's events said.
#[derive(Default)]
struct Seen {
    connected: bool,
    failed: bool,
}

/// Drains a side's events: the connection's state, and each frame compared with what the
/// other side sent.
fn drain(peer: &mut MediaPeer<'_>, other: u8, got: &mut Received) -> Seen {
    let mut seen = Seen::default();
    while let Some(event) = peer.poll_event() {
        match event {
            Event::ConnectionState(ConnectionState::Connected) => seen.connected = true,
            Event::ConnectionState(ConnectionState::Failed | ConnectionState::Closed) => {
                seen.failed = true
            }
            Event::MediaData(d) if d.codec == Codec::Pcmu => {
                let first = *got.first_time.get_or_insert(d.rtp_time);
                let i = d.rtp_time.wrapping_sub(first) as usize / FRAME_BYTES;
                if i < FRAMES && d.data == &frame(other, i)[..] {
                    got.equal += 1;
                } else {
                    got.differ += 1;
                }
            }
            _ => {}
        }
    }
    seen
}

fn refusal(e: MediaError) -> &'static str {
    match e {
        MediaError::NotConnected => "write_frame: not connected",
        MediaError::NotSending => "write_frame: not sending",
        MediaError::NoArea => "write_frame: no area",
        MediaError::Full => "write_frame: full",
        MediaError::UnknownPayloadType => "write_frame: unknown payload type",
        MediaError::UnknownTransceiver => "write_frame: unknown transceiver",
        _ => "write_frame refused",
    }
}

/// Connects, then sends [`FRAMES`] frames each way, 20 ms of virtual time apart.
fn run(
    a: &mut MediaPeer<'_>,
    b: &mut MediaPeer<'_>,
    buf: &mut [u8],
    spent: &mut Spent,
    instructions: &impl Fn() -> u64,
) -> Result<(Received, Received), &'static str> {
    let mut now = Instant::ZERO;
    let limit = now + Duration::from_secs(60);
    let (mut got_a, mut got_b) = (Received::default(), Received::default());
    let (mut up_a, mut up_b) = (false, false);
    let mut sent = 0usize;
    let mut next_frame = None;
    let mid = "0";
    while now < limit {
        let media = next_frame.is_some();
        // Every datagram of both sides, delivered.
        let mut moved = false;
        for side in 0..2 {
            loop {
                let t = instructions();
                let polled = if side == 0 {
                    a.poll_transmit(buf)
                } else {
                    b.poll_transmit(buf)
                };
                let spent_poll = instructions() - t;
                let Some((from, to, n)) = polled
                    .map_err(|_| "buffer too small")?
                    .map(|t| (t.source, t.destination, t.payload.len()))
                else {
                    break;
                };
                let datagram = buf.get_mut(..n).ok_or("buffer too small")?;
                moved = true;
                let t = instructions();
                match (side, to) {
                    (0, ANSWERER) => b.handle_packet(now, from, to, datagram),
                    (1, OFFERER) => a.handle_packet(now, from, to, datagram),
                    _ => {}
                }
                let spent_handle = instructions() - t;
                if media {
                    spent.send += spent_poll;
                    spent.receive += spent_handle;
                } else {
                    spent.connect += spent_poll + spent_handle;
                }
            }
        }
        let t = instructions();
        let seen_a = drain(a, 1, &mut got_a);
        let t_a = instructions() - t;
        let t = instructions();
        let seen_b = drain(b, 0, &mut got_b);
        let t_b = instructions() - t;
        if media {
            spent.receive += t_a + t_b;
        } else {
            spent.connect += t_a + t_b;
        }
        if seen_a.failed || seen_b.failed {
            return Err("connection failed");
        }
        up_a |= seen_a.connected;
        up_b |= seen_b.connected;
        if got_a.equal + got_a.differ >= FRAMES && got_b.equal + got_b.differ >= FRAMES {
            return Ok((got_a, got_b));
        }
        if up_a && up_b && next_frame.is_none() {
            next_frame = Some(now);
        }
        // A frame each way when one is due.
        if let Some(due) = next_frame
            && due <= now
            && sent < FRAMES
        {
            let time = (sent * FRAME_BYTES) as u32;
            let t = instructions();
            let wa = a.write_frame(mid, 0, time, &frame(0, sent));
            let wb = b.write_frame(mid, 0, time, &frame(1, sent));
            spent.send += instructions() - t;
            if let Err(e) = wa.and(wb) {
                return Err(refusal(e));
            }
            sent += 1;
            next_frame = Some(due + Duration::from_millis(20));
            continue;
        }
        if !moved {
            let mut next = [a.poll_timeout(), b.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(limit);
            if let Some(due) = next_frame.filter(|_| sent < FRAMES) {
                next = next.min(due);
            }
            now = next.max(now + Duration::from_micros(1));
            let t = instructions();
            a.handle_timeout(now);
            b.handle_timeout(now);
            // Timers while frames flow (RTCP reports, pacing) are not a frame's cost.
            if !media {
                spent.connect += instructions() - t;
            }
        }
    }
    Err("stalled")
}
